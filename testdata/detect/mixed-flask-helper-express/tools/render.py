"""Renders the email templates offline; not a web app."""
from flask import render_template_string

print(render_template_string("{{ 1 + 1 }}"))
