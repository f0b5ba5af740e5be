package server

import (
	"strings"
	"unicode"

	"github.com/gin-gonic/gin"
	"github.com/golang-jwt/jwt/v5"
)

const userKey = "previewd.user"

// authenticate checks the bearer JWT as API.md says: HS256 with the configured
// secret, sub and exp required, iss and aud when configured.
func (s *Server) authenticate(c *gin.Context) {
	header := c.GetHeader("Authorization")
	raw, ok := strings.CutPrefix(header, "Bearer ")
	if !ok || raw == "" {
		s.abort(c, errUnauthorized)
		return
	}
	sub, err := s.verify(strings.TrimSpace(raw))
	if err != nil {
		s.abort(c, errUnauthorized)
		return
	}
	c.Set(userKey, sub)
	c.Next()
}

// verify returns the subject of a valid token.
func (s *Server) verify(raw string) (string, error) {
	opts := []jwt.ParserOption{
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
	}
	if s.cfg.JWTIssuer != "" {
		opts = append(opts, jwt.WithIssuer(s.cfg.JWTIssuer))
	}
	if s.cfg.JWTAudience != "" {
		opts = append(opts, jwt.WithAudience(s.cfg.JWTAudience))
	}
	tok, err := jwt.Parse(raw, func(*jwt.Token) (any, error) { return s.cfg.JWTSecret, nil }, opts...)
	if err != nil {
		return "", err
	}
	sub, err := tok.Claims.GetSubject()
	if err != nil || sub == "" || strings.ContainsFunc(sub, unicode.IsControl) {
		// A control character (NUL above all, which PostgreSQL text cannot
		// hold) makes no user id: refused here rather than failing later.
		return "", errUnauthorized
	}
	return sub, nil
}

// user is the authenticated caller's id.
func user(c *gin.Context) string { return c.GetString(userKey) }
