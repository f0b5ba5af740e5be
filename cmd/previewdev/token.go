package main

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

// tokenClaims says whom a dev token is for and who may accept it.
type tokenClaims struct {
	Subject  string
	Issuer   string // left out of the token when empty
	Audience string // left out of the token when empty
	TTL      time.Duration
}

// mintToken returns an HS256 JWT for c, signed with secret, valid from now.
func mintToken(secret []byte, c tokenClaims, now time.Time) (string, error) {
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

// loadOrCreateSecret returns the secret kept in path, first writing 32 random
// bytes there, hex-encoded and readable by the owner only, when it is missing.
// Keeping it means tokens minted by an earlier run stay valid.
func loadOrCreateSecret(path string) (string, error) {
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
	if err := writePrivate(path, secret+"\n"); err != nil {
		return "", fmt.Errorf("write jwt secret: %w", err)
	}
	return secret, nil
}

// writePrivate writes content to path with mode 0600, also when path exists
// with a looser mode.
func writePrivate(path, content string) error {
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
