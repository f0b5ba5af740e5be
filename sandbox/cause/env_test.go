package cause

import (
	"reflect"
	"testing"
)

func TestMissingEnvFromConfiguration(t *testing.T) {
	settings := "from pydantic_settings import BaseSettings, SettingsConfigDict\n\n\nclass Settings(BaseSettings):\n" +
		"    model_config = SettingsConfigDict(env_prefix=\"APP_\")\n    app_name: str = \"Awesome API\"\n    admin_email: str\n    db: Db\n    secret_key: str\n\n\nsettings = Settings()\n"
	cases := []struct {
		name  string
		lines []string
		src   map[string]string
		want  []string
		kind  string
	}{
		{"pydantic-settings: required fields", []string{
			"Traceback (most recent call last):",
			`  File "/app/app/config.py", line 12, in <module>`,
			"    settings = Settings()",
			`  File "/usr/lib/python3/dist-packages/pydantic_settings/main.py", line 171, in __init__`,
			"    super().__init__(",
			"pydantic_core._pydantic_core.ValidationError: 3 validation errors for Settings",
			"admin_email",
			"  Field required [type=missing, input_value={}, input_type=dict]",
			"    For further information visit https://errors.pydantic.dev/2.10/v/missing",
			"db.host",
			"  Field required [type=missing, input_value={}, input_type=dict]",
			"secret_key",
			"  Field required [type=missing, input_value={}, input_type=dict]",
		}, map[string]string{"app/config.py": settings}, []string{"APP_ADMIN_EMAIL", "APP_SECRET_KEY"}, MissingEnv},
		{"pydantic: a model that is no settings class", []string{
			"Traceback (most recent call last):",
			`  File "/app/main.py", line 9, in <module>`,
			"    item = Item()",
			"pydantic_core._pydantic_core.ValidationError: 1 validation error for Item",
			"name",
			"  Field required [type=missing, input_value={}, input_type=dict]",
		}, map[string]string{"main.py": "class Item(BaseModel):\n    name: str\n"}, nil, ExceptionAtStart},
		{"django-environ", []string{
			"Traceback (most recent call last):",
			`  File "/app/mysite/settings.py", line 8, in <module>`,
			"    SECRET_KEY = env('SECRET_KEY')",
			`  File "/usr/lib/python3/dist-packages/environ/environ.py", line 175, in __call__`,
			"django.core.exceptions.ImproperlyConfigured: Set the SECRET_KEY environment variable",
		}, nil, []string{"SECRET_KEY"}, MissingEnv},
		{"Django: SECRET_KEY read from an unset variable", []string{
			"Traceback (most recent call last):",
			`  File "/app/manage.py", line 22, in <module>`,
			"    main()",
			`  File "/usr/lib/python3/dist-packages/django/conf/__init__.py", line 98, in __getattr__`,
			"    raise ImproperlyConfigured(\"The SECRET_KEY setting must not be empty.\")",
			"django.core.exceptions.ImproperlyConfigured: The SECRET_KEY setting must not be empty.",
		}, map[string]string{"mysite/settings.py": "import os\nSECRET_KEY = os.environ.get('DJANGO_SECRET_KEY')\n"}, []string{"DJANGO_SECRET_KEY"}, MissingEnv},
		{"Flask-SQLAlchemy: database URI read from an unset variable", []string{
			"Traceback (most recent call last):",
			`  File "/app/app.py", line 9, in <module>`,
			"    db.init_app(app)",
			`  File "/usr/lib/python3/dist-packages/flask_sqlalchemy/extension.py", line 311, in init_app`,
			"    raise RuntimeError(",
			"RuntimeError: Either 'SQLALCHEMY_DATABASE_URI' or 'SQLALCHEMY_BINDS' must be set.",
		}, map[string]string{"app.py": "app.config['SQLALCHEMY_DATABASE_URI'] = os.getenv(\"DATABASE_URL\")\n"}, []string{"DATABASE_URL"}, MissingEnv},
		{"a setting the code does not read from the environment", []string{
			"Traceback (most recent call last):",
			`  File "/app/manage.py", line 22, in <module>`,
			"    main()",
			"django.core.exceptions.ImproperlyConfigured: The SECRET_KEY setting must not be empty.",
		}, map[string]string{"mysite/settings.py": "SECRET_KEY = ''\n"}, nil, ExceptionAtStart},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := Diagnose(c.lines, Facts{ExitCode: intp(1), Sources: c.src})
			if got.Kind != c.kind || !reflect.DeepEqual(got.MissingEnv, c.want) {
				t.Fatalf("got kind %s missing_env %v, want %s %v (%+v)", got.Kind, got.MissingEnv, c.kind, c.want, got)
			}
			if c.want != nil && got.Symbol != c.want[0] {
				t.Errorf("symbol %q, want %q", got.Symbol, c.want[0])
			}
		})
	}
}
