// Package devtoken makes what a development setup needs to call previewd: a
// JWT secret kept in a file and tokens signed with it. previewdev (make run)
// and previewd's compose development mode share it.
package devtoken

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// TTL is how long a dev token stays valid: long enough not to expire
// during a week of work, short enough to be a dev token.
const TTL = 30 * 24 * time.Hour

// Claims says whom a dev token is for and who may accept it.
type Claims struct {
	Subject  string
	Issuer   string // left out of the token when empty
	Audience string // left out of the token when empty
	TTL      time.Duration
}

// Mint returns an HS256 JWT for c, signed with secret, valid from now.
func Mint(secret []byte, c Claims, now time.Time) (string, error) {
	if len(secret) == 0 {
		return "", errors.New("mint token: empty secret")
	}
	claims := jwt.MapClaims{
		"sub": c.Subject,
		"iat": now.Unix(),
		"exp": now.Add(c.TTL).Unix(),
	}
	if c.Issuer != "" {
		claims["iss"] = c.Issuer
	}
	// A plain string rather than RegisteredClaims' one-element array: every
	// JWT library accepts a string audience.
	if c.Audience != "" {
		claims["aud"] = c.Audience
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(secret)
	if err != nil {
		return "", fmt.Errorf("mint token: %w", err)
	}
	return s, nil
}

// LoadOrCreateSecret returns the secret kept in path, first writing 32 random
// bytes there, hex-encoded and readable by the owner only, when it is missing.
// Keeping it means tokens minted by an earlier run stay valid.
func LoadOrCreateSecret(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		s := strings.TrimSpace(string(b))
		if s == "" {
			return "", fmt.Errorf("jwt secret %s is empty; delete it to get a new one", path)
		}
		return s, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("read jwt secret: %w", err)
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("generate jwt secret: %w", err)
	}
	secret := hex.EncodeToString(raw)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", fmt.Errorf("write jwt secret: %w", err)
	}
	if err := WritePrivate(path, secret+"\n"); err != nil {
		return "", fmt.Errorf("write jwt secret: %w", err)
	}
	return secret, nil
}

// WritePrivate writes content to path with mode 0600, also when path exists
// with a looser mode.
func WritePrivate(path, content string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.WriteString(content); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
