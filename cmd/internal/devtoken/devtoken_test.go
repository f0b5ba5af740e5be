package devtoken

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func TestMintToken(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	now := time.Now()
	tests := []struct {
		name   string
		claims Claims
	}{
		{"subject only", Claims{Subject: "dev", TTL: TTL}},
		{"issuer and audience", Claims{Subject: "alice", Issuer: "previewd-dev", Audience: "previewd", TTL: TTL}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Mint(secret, tt.claims, now)
			if err != nil {
				t.Fatal(err)
			}
			opts := []jwt.ParserOption{jwt.WithValidMethods([]string{"HS256"}), jwt.WithExpirationRequired()}
			if tt.claims.Issuer != "" {
				opts = append(opts, jwt.WithIssuer(tt.claims.Issuer))
			}
			if tt.claims.Audience != "" {
				opts = append(opts, jwt.WithAudience(tt.claims.Audience))
			}
			var got jwt.RegisteredClaims
			tok, err := jwt.ParseWithClaims(s, &got, func(*jwt.Token) (any, error) { return secret, nil }, opts...)
			if err != nil {
				t.Fatalf("parse minted token: %v", err)
			}
			if alg := tok.Header["alg"]; alg != "HS256" {
				t.Errorf("alg = %v, want HS256", alg)
			}
			if got.Subject != tt.claims.Subject {
				t.Errorf("sub = %q, want %q", got.Subject, tt.claims.Subject)
			}
			if want := now.Add(TTL).Unix(); got.ExpiresAt == nil || got.ExpiresAt.Unix() != want {
				t.Errorf("exp = %v, want %d", got.ExpiresAt, want)
			}
			if tt.claims.Issuer == "" && got.Issuer != "" {
				t.Errorf("iss = %q, want none", got.Issuer)
			}
			if tt.claims.Audience == "" && len(got.Audience) != 0 {
				t.Errorf("aud = %q, want none", got.Audience)
			}

			if _, err := jwt.Parse(s, func(*jwt.Token) (any, error) { return []byte("another secret"), nil }); err == nil {
				t.Error("token verified with the wrong secret")
			}
		})
	}
	if _, err := Mint(nil, Claims{Subject: "dev", TTL: time.Hour}, now); err == nil {
		t.Error("minted a token with an empty secret")
	}
}

func TestLoadOrCreateSecret(t *testing.T) {
	path := filepath.Join(t.TempDir(), ".data", "jwt-secret")
	first, err := LoadOrCreateSecret(path)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(first) {
		t.Errorf("secret %q is not 32 bytes in hex", first)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("secret file mode = %v, want 0600", fi.Mode().Perm())
	}
	second, err := LoadOrCreateSecret(path)
	if err != nil {
		t.Fatal(err)
	}
	if second != first {
		t.Errorf("second load gave %q, want the kept %q", second, first)
	}
}
