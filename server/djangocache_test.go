package server_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// djangoNotes is a small Django app on SQLite with its own migration: GET /
// counts the notes, POST / adds one.
var djangoNotes = map[string]string{
	"manage.py": "#!/usr/bin/env python\nimport os, sys\nif __name__ == '__main__':\n" +
		"    os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'mysite.settings')\n" +
		"    from django.core.management import execute_from_command_line\n    execute_from_command_line(sys.argv)\n",
	"mysite/__init__.py": "",
	"mysite/settings.py": "from pathlib import Path\nBASE_DIR = Path(__file__).resolve().parent.parent\n" +
		"SECRET_KEY = 'test'\nDEBUG = False\nALLOWED_HOSTS = ['*']\nROOT_URLCONF = 'mysite.urls'\n" +
		"INSTALLED_APPS = ['notes']\nMIDDLEWARE = []\nDEFAULT_AUTO_FIELD = 'django.db.models.AutoField'\n" +
		"DATABASES = {'default': {'ENGINE': 'django.db.backends.sqlite3', 'NAME': BASE_DIR / 'db.sqlite3'}}\n",
	"mysite/urls.py":               "from django.urls import path\nfrom notes import views\nurlpatterns = [path('', views.index)]\n",
	"mysite/wsgi.py":               "import os\nos.environ.setdefault('DJANGO_SETTINGS_MODULE', 'mysite.settings')\nfrom django.core.wsgi import get_wsgi_application\napplication = get_wsgi_application()\n",
	"notes/__init__.py":            "",
	"notes/migrations/__init__.py": "",
	"notes/models.py":              "from django.db import models\n\n\nclass Note(models.Model):\n    text = models.CharField(max_length=200)\n",
	"notes/migrations/0001_initial.py": "from django.db import migrations, models\n\n\nclass Migration(migrations.Migration):\n    initial = True\n    dependencies = []\n" +
		"    operations = [migrations.CreateModel(name='Note', fields=[('id', models.AutoField(primary_key=True, serialize=False)), ('text', models.CharField(max_length=200))])]\n",
	"notes/views.py": "from django.http import JsonResponse\nfrom .models import Note\n\n\ndef index(request):\n" +
		"    if request.method == 'POST':\n        Note.objects.create(text='x')\n    return JsonResponse({'notes': Note.objects.count()})\n",
}

// TestDjangoMigrationCache: the first launch of a Django app migrates; the
// next launch of the same files gets the database as that migrate left it
// (the notes the first preview wrote are not in it) and does not migrate;
// a changed file migrates again, its new migration included.
func TestDjangoMigrationCache(t *testing.T) {
	requireInfra(t, true)
	e := newEnv(t)
	var files []map[string]string
	for p, c := range djangoNotes {
		files = append(files, map[string]string{"path": p, "content": c})
	}
	r := e.callJSON("POST", "/api/v1/generations", "alice", map[string]any{"name": "notes", "files": files})
	mustStatus(t, r, http.StatusCreated)
	gen := r.body["id"].(string)

	launch := func(what string, wantMigrate string) string {
		t.Helper()
		r := e.launch("alice", gen, nil)
		mustStatus(t, r, http.StatusCreated)
		base := r.body["base_url"].(string)
		logs := e.logText(t, gen)
		skipped := strings.Contains(logs, "migrate skipped")
		switch {
		case wantMigrate == "" && (!skipped || strings.Contains(logs, "Applying notes.")):
			t.Errorf("%s: migrated again (want the kept database):\n%s", what, logs)
		case wantMigrate != "" && (skipped || !strings.Contains(logs, wantMigrate)):
			t.Errorf("%s: did not migrate (want %q):\n%s", what, wantMigrate, logs)
		}
		return base
	}
	stop := func() {
		t.Helper()
		mustStatus(t, e.call("DELETE", "/api/v1/generations/"+gen+"/preview", "alice", "", nil), http.StatusOK)
	}

	base := launch("first launch", "Applying notes.0001_initial")
	if code, body := postEmpty(t, base+"/"); code != 200 || !strings.Contains(body, `"notes": 1`) {
		t.Fatalf("POST /: %d %q", code, body)
	}
	stop()

	base = launch("second launch", "")
	if code, body := get(t, base+"/"); code != 200 || !strings.Contains(body, `"notes": 0`) {
		t.Errorf("second launch: GET / %d %q, want the migrated, empty database", code, body)
	}
	stop()

	r = e.patch("alice", gen, map[string]any{"files": []map[string]string{
		{"path": "notes/models.py", "content": djangoNotes["notes/models.py"] + "    done = models.BooleanField(default=False)\n"},
		{"path": "notes/migrations/0002_done.py", "content": "from django.db import migrations, models\n\n\nclass Migration(migrations.Migration):\n" +
			"    dependencies = [('notes', '0001_initial')]\n    operations = [migrations.AddField(model_name='note', name='done', field=models.BooleanField(default=False))]\n"},
	}})
	mustStatus(t, r, http.StatusOK)
	base = launch("launch after a change", "Applying notes.0002_done")
	if code, body := postEmpty(t, base+"/"); code != 200 || !strings.Contains(body, `"notes": 1`) {
		t.Errorf("after a change: POST / %d %q", code, body)
	}
	stop()
}

// logText is the stored log of gen's latest preview, one line each.
func (e *env) logText(t *testing.T, gen string) string {
	t.Helper()
	// The lines are stored shortly after they are printed.
	time.Sleep(300 * time.Millisecond)
	r := e.call("GET", "/api/v1/generations/"+gen+"/preview/logs?limit=1000", "alice", "", nil)
	mustStatus(t, r, http.StatusOK)
	var b strings.Builder
	for _, l := range r.body["lines"].([]any) {
		b.WriteString(l.(map[string]any)["line"].(string) + "\n")
	}
	return b.String()
}

func postEmpty(t *testing.T, url string) (int, string) {
	t.Helper()
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Post(url, "text/plain", nil)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
