package cause

// Kinds of a failing request, for the endpoint checks of a running app.
const (
	// RequestException is an exception the app raised while it handled a
	// request.
	RequestException = "exception"
	// ServerError is a server error the app answered without printing
	// an error trace.
	ServerError = "server_error"
)

// OfRequest reads the error an app printed while it answered one request
// with a server error: lines are what it printed during that request
// (oldest first, both streams), sources its own files when previewd has
// them. It reports false when the lines hold no error trace.
func OfRequest(lines []string, sources map[string]string) (Cause, bool) {
	c, ok := fromOutput(clean(lines))
	if !ok {
		return Cause{}, false
	}
	place(&c, sources)
	if c.Kind == ExceptionAtStart {
		c.Kind = RequestException
		c.Hint = "this exception is raised while the app handles the request; fix the line it points at"
	}
	c.Message = reInAppRoot.ReplaceAllString(c.Message, "$1")
	c.Hint = reInAppRoot.ReplaceAllString(c.Hint, "$1")
	return c, true
}
