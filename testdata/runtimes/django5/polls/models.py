from django.db import models
from django.db.models import F


class Question(models.Model):
    text = models.CharField(max_length=200)
    votes = models.IntegerField(db_default=0)  # Django 5.0+
    double = models.GeneratedField(expression=F("votes") * 2, output_field=models.IntegerField(), db_persist=True)
