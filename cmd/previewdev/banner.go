package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"strings"
)

// helloApp is the FastAPI app the printed example uploads.
const helloApp = `from fastapi import FastAPI
app = FastAPI()
@app.get("/")
def root():
    return {"hello": "world"}
`

// baseURL turns a listen address such as ":8080" or "0.0.0.0:9000" into the
// URL a browser on this machine would use.
func baseURL(listenAddr string) string {
	host, port, err := net.SplitHostPort(listenAddr)
	if err != nil || port == "" {
		return "http://localhost:8080"
	}
	switch host {
	case "", "0.0.0.0", "::":
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// exampleCommands returns shell commands that upload helloApp as a generation,
// keeping its id in GEN_ID, and launch its preview. They expect
// $PREVIEW_TOKEN to be set.
func exampleCommands(base string) (upload, launch string) {
	type file struct {
		Path    string `json:"path"`
		Content string `json:"content"`
	}
	var body bytes.Buffer
	enc := json.NewEncoder(&body)
	enc.SetEscapeHTML(false)
	// Encoding strings cannot fail.
	_ = enc.Encode(struct {
		Name  string `json:"name"`
		Files []file `json:"files"`
	}{"hello", []file{{"main.py", helloApp}}})
	auth := `-H "Authorization: Bearer $PREVIEW_TOKEN"`
	upload = fmt.Sprintf(`GEN_ID=$(curl -s %s -H 'Content-Type: application/json' -d %s %s | jq -r .id)`,
		auth, shellQuote(strings.TrimSpace(body.String())), shellQuote(base+"/api/v1/generations"))
	launch = fmt.Sprintf(`curl -s -X POST %s "%s/api/v1/generations/$GEN_ID/preview/launch"`, auth, base)
	return upload, launch
}

// printBanner tells the developer where the server is and how to call it.
func printBanner(w io.Writer, base, token, tokenFile, user string) {
	upload, launch := exampleCommands(base)
	fmt.Fprintf(w, `
previewd dev server: %s
token for user %q, valid 30 days, also in %s:

  export PREVIEW_TOKEN=%s

try it (needs jq; without it, run the curl alone and set GEN_ID to the "id" it prints):

  %s
  %s

`, base, user, tokenFile, token, upload, launch)
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
