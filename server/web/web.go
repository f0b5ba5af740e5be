// Package web is previewd's Preview tab: a page, in plain HTML, CSS and
// JavaScript modules, that signs in with a bearer token, uploads and picks
// generations, launches and stops their previews, and shows status, logs,
// endpoints and the running app. The files are embedded in the binary; there
// is no build step.
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
)

//go:embed static
var static embed.FS

// contentSecurityPolicy is the policy of the page. Scripts and styles come
// only from previewd itself; the page talks only to previewd's API; frames
// may show any http(s) address, because a preview's proxy_url is a host of
// its own (<id>.<PREVIEW_PUBLIC_DOMAIN>:<port>) or, with path routing,
// previewd's own /p/<id>/.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; " +
	"connect-src 'self'; frame-src 'self' http: https:; form-action 'none'; base-uri 'none'; frame-ancestors 'none'"

// contentType names the type of an embedded file by its extension. It does
// not ask the system's MIME table, which may map .js to a type a browser
// refuses for a module script.
func contentType(name string, content []byte) string {
	switch path.Ext(name) {
	case ".html":
		return "text/html; charset=utf-8"
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	}
	return http.DetectContentType(content)
}

// asset is one embedded file, ready to serve.
type asset struct {
	name, contentType, etag string
	content                 []byte
}

// Register serves the page at / and its assets at /ui/<file>, for GET and
// HEAD. Everything else stays with the caller's routes.
func Register(r gin.IRoutes) {
	assets, err := load()
	if err != nil {
		panic(err) // the embedded files are part of the binary: only a broken build gets here
	}
	page := assets["index.html"]
	servePage := func(c *gin.Context) { serve(c, page, true) }
	serveAsset := func(c *gin.Context) {
		a, ok := assets["ui/"+strings.TrimPrefix(c.Param("file"), "/")]
		if !ok {
			c.Header("Cache-Control", "no-store")
			c.Data(http.StatusNotFound, "text/plain; charset=utf-8", []byte("404 page not found\n"))
			return
		}
		serve(c, a, false)
	}
	r.GET("/", servePage)
	r.HEAD("/", servePage)
	r.GET("/ui/*file", serveAsset)
	r.HEAD("/ui/*file", serveAsset)
}

// load reads the embedded files and computes their ETags.
func load() (map[string]*asset, error) {
	root, err := fs.Sub(static, "static")
	if err != nil {
		return nil, err
	}
	assets := map[string]*asset{}
	err = fs.WalkDir(root, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(root, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		assets[p] = &asset{name: p, contentType: contentType(p, b), etag: `"` + hex.EncodeToString(sum[:12]) + `"`, content: b}
		return nil
	})
	return assets, err
}

// serve writes an asset. The files change only with the binary, but the
// modules import each other by plain names that carry no version, so the
// browser revalidates every file (no-cache) and a matching ETag answers 304.
func serve(c *gin.Context, a *asset, isPage bool) {
	h := c.Writer.Header()
	h.Set("Content-Type", a.contentType)
	h.Set("Cache-Control", "no-cache")
	h.Set("ETag", a.etag)
	h.Set("X-Content-Type-Options", "nosniff")
	if isPage {
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
	}
	http.ServeContent(c.Writer, c.Request, a.name, time.Time{}, bytes.NewReader(a.content))
}
