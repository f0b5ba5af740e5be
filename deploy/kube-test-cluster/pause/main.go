// Command pause is the infrastructure container of every Pod in the test
// cluster (no image can be pulled there): it holds the Pod's namespaces and
// waits until it is told to stop.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGINT, syscall.SIGTERM)
	<-c
}
