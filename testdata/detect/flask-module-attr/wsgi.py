from main import application  # re-export for hosts that look for wsgi.py

app = application
