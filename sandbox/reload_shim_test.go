package sandbox

import (
	"slices"
	"testing"
)

func TestOnPort(t *testing.T) {
	tests := []struct {
		name string
		argv []string
		want []string
	}{
		{"uvicorn", []string{"python3", "-m", "uvicorn", "--host", "0.0.0.0", "--port", "8000", "main:app"},
			[]string{"python3", "-m", "uvicorn", "--host", "0.0.0.0", "--port", "8001", "main:app"}},
		{"gunicorn", []string{"gunicorn", "--bind", "0.0.0.0:8000", "--workers", "1", "app:create_app()"},
			[]string{"gunicorn", "--bind", "0.0.0.0:8001", "--workers", "1", "app:create_app()"}},
		{"in a shell", []string{"sh", "-c", "cd api && exec python3 -m uvicorn --host 0.0.0.0 --port 8000 main:app"},
			[]string{"sh", "-c", "cd api && exec python3 -m uvicorn --host 0.0.0.0 --port 8001 main:app"}},
		{"django migrate first", []string{"sh", "-c", "python3 manage.py migrate --noinput && exec gunicorn --bind 0.0.0.0:8000 --chdir . mysite.wsgi"},
			[]string{"sh", "-c", "python3 manage.py migrate --noinput && exec gunicorn --bind 0.0.0.0:8001 --chdir . mysite.wsgi"}},
		{"node reads PORT", []string{"node", "server.js"}, []string{"node", "server.js"}},
		{"an app's own 8000 is left alone", []string{"node", "8000.js"}, []string{"node", "8000.js"}},
	}
	for _, tt := range tests {
		if got := onPort(tt.argv, 8001); !slices.Equal(got, tt.want) {
			t.Errorf("%s: onPort = %q, want %q", tt.name, got, tt.want)
		}
	}
}
