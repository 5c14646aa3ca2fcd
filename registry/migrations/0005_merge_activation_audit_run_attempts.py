from django.db import migrations


class Migration(migrations.Migration):
    """Joins the two migrations that were written side by side: the activation audit and the run attempts."""

    dependencies = [
        ("deepboot_site", "0004_activation_audit"),
        ("deepboot_site", "0004_run_attempts"),
    ]

    operations = []
