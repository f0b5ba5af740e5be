from django.db import migrations, models
import django.db.models.expressions


class Migration(migrations.Migration):
    initial = True
    dependencies = []
    operations = [
        migrations.CreateModel(
            name="Question",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("text", models.CharField(max_length=200)),
                ("votes", models.IntegerField(db_default=0)),
                ("double", models.GeneratedField(db_persist=True, expression=django.db.models.expressions.CombinedExpression(models.F("votes"), "*", models.Value(2)), output_field=models.IntegerField())),
            ],
        ),
    ]
