package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func TestDevSecret(t *testing.T) {
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "dev", "jwt-secret")
	env := map[string]string{"DATABASE_URL": "postgres://x", "PREVIEW_DEV_SECRET_FILE": secretFile}

	start := func() (config, string) {
		t.Helper()
		c, err := parseConfig(envOf(env))
		if err != nil {
			t.Fatalf("configuration without a secret in development: %v", err)
		}
		var out bytes.Buffer
		if err := useDevSecret(&c, &out, time.Now()); err != nil {
			t.Fatal(err)
		}
		return c, out.String()
	}
	c, printed := start()
	if len(c.Server.JWTSecret) < 16 {
		t.Fatalf("secret %q: too short", c.Server.JWTSecret)
	}
	kept, err := os.ReadFile(secretFile)
	if err != nil || strings.TrimSpace(string(kept)) != string(c.Server.JWTSecret) {
		t.Fatalf("secret file holds %q (err %v), want the secret in use", kept, err)
	}
	token, err := os.ReadFile(filepath.Join(dir, "dev", "dev-token"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(printed, strings.TrimSpace(string(token))) || !strings.Contains(printed, "PREVIEW_ENV=production") {
		t.Errorf("printed:\n%s\nwant the dev token and how to leave development mode", printed)
	}
	var claims jwt.RegisteredClaims
	if _, err := jwt.ParseWithClaims(strings.TrimSpace(string(token)), &claims,
		func(*jwt.Token) (any, error) { return c.Server.JWTSecret, nil }, jwt.WithValidMethods([]string{"HS256"})); err != nil || claims.Subject != devUser {
		t.Errorf("dev token does not verify with the secret: %v (sub %q)", err, claims.Subject)
	}

	// A second start keeps the secret, so tokens given out stay valid.
	if again, _ := start(); string(again.Server.JWTSecret) != string(c.Server.JWTSecret) {
		t.Error("second start made a new secret")
	}

	// An explicit secret wins, and production never falls back.
	env["PREVIEW_JWT_SECRET"] = "explicit-secret-0123456789"
	if c, _ := start(); string(c.Server.JWTSecret) != "explicit-secret-0123456789" {
		t.Errorf("secret = %q, want the explicit one", c.Server.JWTSecret)
	}
	delete(env, "PREVIEW_JWT_SECRET")
	env["PREVIEW_ENV"] = "production"
	if _, err := parseConfig(envOf(env)); err == nil || !strings.Contains(err.Error(), "PREVIEW_ENV=production") {
		t.Errorf("production without PREVIEW_JWT_SECRET: err %v", err)
	}
}
