package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"slices"
	"strings"
	"unicode/utf8"
)

// headerFlag collects -H 'K: V' flags.
type headerFlag struct{ h map[string]string }

func (f *headerFlag) String() string { return "" }

func (f *headerFlag) Set(v string) error {
	k, val, ok := strings.Cut(v, ":")
	k = strings.TrimSpace(k)
	if !ok || k == "" {
		return fmt.Errorf("header %q is not 'Name: value'", v)
	}
	if f.h == nil {
		f.h = map[string]string{}
	}
	f.h[k] = strings.TrimSpace(val)
	return nil
}

// request sends one request to the running app through previewd and prints
// the answer: status line, headers, and the body (JSON pretty-printed).
func (a *app) request(ctx context.Context, args []string) error {
	fs := a.flags("request")
	data := fs.String("d", "", "request `body`; @FILE reads FILE, @- standard input")
	var headers headerFlag
	fs.Var(&headers, "H", "request header `'Name: value'` (repeatable)")
	session := fs.String("session", "", "a session token from launch or up (default: ask launch for a new one)")
	pos, err := a.parse(fs, args, 3, 3)
	if err != nil {
		return err
	}
	gen, method, path := pos[0], strings.ToUpper(pos[1]), pos[2]
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	body, err := readBody(*data, os.Stdin)
	if err != nil {
		return err
	}
	req := appRequest{Method: method, Path: path, Headers: headers.h}
	if len(body) > 0 {
		req.Body, req.BodyEncoding = string(body), "utf-8"
		if !utf8.Valid(body) {
			req.Body, req.BodyEncoding = base64.StdEncoding.EncodeToString(body), "base64"
		}
	}
	token := *session
	if token == "" {
		if token, err = a.sessionToken(ctx, gen); err != nil {
			return err
		}
	}
	resp, err := a.client.request(ctx, gen, token, req)
	if err != nil {
		return err
	}
	if a.json {
		return printJSON(a.stdout, resp.Raw)
	}
	return a.printResponse(resp)
}

// readBody reads the -d value: text, @FILE, or @- for stdin.
func readBody(data string, stdin io.Reader) ([]byte, error) {
	name, ok := strings.CutPrefix(data, "@")
	switch {
	case !ok:
		return []byte(data), nil
	case name == "-":
		return io.ReadAll(stdin)
	}
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, usageErrorf("-d: %v", err)
	}
	return b, nil
}

// sessionToken gets a session token for the generation's preview from
// launch, which answers a live preview with a new one. It checks first that
// the preview is live, so that asking for a token never starts an app.
func (a *app) sessionToken(ctx context.Context, gen string) (string, error) {
	s, err := a.client.status(ctx, gen)
	if err != nil {
		return "", inStep("status", err)
	}
	if !s.live() {
		return "", &apiError{Status: http.StatusConflict, Code: "preview_not_running",
			Message: fmt.Sprintf("the preview is %s; start it with: previewctl launch %s", s.Status, gen)}
	}
	l, err := a.client.launch(ctx, gen, launchOptions{Wait: true})
	if err != nil {
		return "", inStep("launch", err)
	}
	return l.SessionToken, nil
}

func (a *app) printResponse(r appResponse) error {
	out := a.stdout
	fmt.Fprintf(out, "%d %s (%.1f ms)\n", r.StatusCode, http.StatusText(r.StatusCode), r.DurationMS)
	names := make([]string, 0, len(r.Headers))
	for k := range r.Headers {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		for _, v := range r.Headers[k] {
			fmt.Fprintf(out, "%s: %s\n", k, v)
		}
	}
	fmt.Fprintln(out)
	body := []byte(r.Body)
	if r.BodyEncoding == "base64" {
		raw, err := base64.StdEncoding.DecodeString(r.Body)
		if err != nil {
			return fmt.Errorf("previewd sent a body that is not valid base64: %w", err)
		}
		if isTerminal(out) {
			fmt.Fprintf(out, "(%s of binary data; redirect the output to a file to keep it)\n", formatBytes(int64(len(raw))))
			return nil
		}
		body = raw
	} else {
		body = prettyJSON(contentType(r.Headers), body)
		if len(body) > 0 && body[len(body)-1] != '\n' {
			body = append(body, '\n')
		}
	}
	if _, err := out.Write(body); err != nil {
		return err
	}
	if r.Truncated {
		fmt.Fprintln(a.stderr, "previewctl: the body was cut at previewd's limit (PREVIEW_MAX_PROXY_BODY)")
	}
	return nil
}

func contentType(h map[string][]string) string {
	for k, v := range h {
		if strings.EqualFold(k, "Content-Type") && len(v) > 0 {
			return v[0]
		}
	}
	return ""
}

// prettyJSON indents a JSON body; anything else is returned as it is.
func prettyJSON(ct string, body []byte) []byte {
	mt, _, _ := mime.ParseMediaType(ct)
	if mt != "application/json" && !strings.HasSuffix(mt, "+json") {
		return body
	}
	var b bytes.Buffer
	if json.Indent(&b, body, "", "  ") != nil {
		return body
	}
	return b.Bytes()
}
