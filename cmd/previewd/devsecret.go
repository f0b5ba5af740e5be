package main

import (
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/previewd/previewd/cmd/internal/devtoken"
)

// devUser is the subject of the token printed in development mode.
const devUser = "dev"

// useDevSecret gives a development setup (docker compose, where nobody has
// made a secret yet) a working configuration: when PREVIEW_JWT_SECRET is
// unset and PREVIEW_DEV_SECRET_FILE is set, the secret kept in that file
// (made on first start) signs the bearer tokens, and a dev token is written
// beside it and printed to w, as make run does. parseConfig has already
// refused this in production.
func useDevSecret(c *config, w io.Writer, now time.Time) error {
	if len(c.Server.JWTSecret) > 0 || c.DevSecretFile == "" {
		return nil
	}
	secret, err := devtoken.LoadOrCreateSecret(c.DevSecretFile)
	if err != nil {
		return fmt.Errorf("development secret: %w", err)
	}
	c.Server.JWTSecret = []byte(secret)
	token, err := devtoken.Mint(c.Server.JWTSecret, devtoken.Claims{
		Subject:  devUser,
		Issuer:   c.Server.JWTIssuer,
		Audience: c.Server.JWTAudience,
		TTL:      devtoken.TTL,
	}, now)
	if err != nil {
		return fmt.Errorf("development token: %w", err)
	}
	tokenFile := filepath.Join(filepath.Dir(c.DevSecretFile), "dev-token")
	if err := devtoken.WritePrivate(tokenFile, token+"\n"); err != nil {
		return fmt.Errorf("development token: %w", err)
	}
	fmt.Fprintf(w, "previewd: development mode: PREVIEW_JWT_SECRET is unset, so bearer tokens are signed with the secret in %s.\n"+
		"previewd: set PREVIEW_JWT_SECRET (and PREVIEW_ENV=production) for anything but development.\n"+
		"previewd: dev token for user %q, valid %s (also in %s):\n%s\n",
		c.DevSecretFile, devUser, devtoken.TTL, tokenFile, token)
	return nil
}
