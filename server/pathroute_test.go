package server

import "testing"

func TestParsePathRoute(t *testing.T) {
	const id = "0b9f3c1e-6a4d-4f2b-9c8e-1d2e3f4a5b6c"
	for _, tc := range []struct {
		path          string
		ok, addSlash  bool
		prefix, token string
	}{
		{path: "/p/" + id + "/", ok: true, prefix: "/p/" + id},
		{path: "/p/" + id + "/static/app.js", ok: true, prefix: "/p/" + id},
		{path: "/p/" + id, ok: true, addSlash: true, prefix: "/p/" + id},
		{path: "/p/" + id + "/~abc/", ok: true, prefix: "/p/" + id + "/~abc", token: "abc"},
		{path: "/p/" + id + "/~abc/x/y", ok: true, prefix: "/p/" + id + "/~abc", token: "abc"},
		{path: "/p/" + id + "/~abc", ok: true, addSlash: true, prefix: "/p/" + id + "/~abc", token: "abc"},
		{path: "/p/" + id + "/x/~abc/", ok: true, prefix: "/p/" + id},
		{path: "/p/not-a-uuid/", ok: false},
		{path: "/api/v1/generations", ok: false},
	} {
		r, addSlash, ok := parsePathRoute(tc.path)
		if ok != tc.ok || addSlash != tc.addSlash || ok && (r.prefix != tc.prefix || r.token != tc.token || r.id != id) {
			t.Errorf("parsePathRoute(%q) = %+v, %v, %v; want prefix %q token %q addSlash %v ok %v",
				tc.path, r, addSlash, ok, tc.prefix, tc.token, tc.addSlash, tc.ok)
		}
	}
}

func TestSamePathLocation(t *testing.T) {
	for in, want := range map[string]string{
		"/":               "/",
		"/a/b":            "/a/b",
		"//evil.example/": "/.//evil.example/",
		`/\evil.example/`: `/./\evil.example/`,
		"///evil.example": "/.///evil.example",
		"/%2F%2Fevil":     "/%2F%2Fevil",
		"":                "/",
	} {
		if got := samePathLocation(in); got != want {
			t.Errorf("samePathLocation(%q) = %q, want %q", in, got, want)
		}
	}
}
