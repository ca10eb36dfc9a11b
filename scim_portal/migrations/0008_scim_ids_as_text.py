"""Keep SCIM ids as text, so ids issued by another service provider can be kept.

Portals moving from django-scim2 carry ids such as ``"42"`` (its primary key)
that their IdPs keep using; ``manage.py scim_import_django_scim2`` copies them.
New resources still get a random UUID, now stored in its text form.  On
PostgreSQL the column changes type (``uuid::varchar`` is that text form);
backends without a uuid type kept 32 hex digits, which get their dashes here.
"""

from django.db import migrations, models
from django.db.models import CharField, Value
from django.db.models.functions import Concat, Length, Lower, Substr

import scim_portal.models.resources


def add_dashes(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        return
    parts = []
    for start, length in ((1, 8), (9, 4), (13, 4), (17, 4), (21, 12)):
        parts += [Substr("scim_id", start, length), Value("-")]
    text = Lower(Concat(*parts[:-1], output_field=CharField()))
    for name in ("ScimUser", "ScimGroup"):
        model = apps.get_model("scim_portal", name)
        model.objects.annotate(id_length=Length("scim_id")).filter(id_length=32).update(scim_id=text)


class Migration(migrations.Migration):

    dependencies = [
        ("scim_portal", "0007_drop_full_page_indexes"),
    ]

    operations = [
        migrations.AlterField(
            model_name="scimuser",
            name="scim_id",
            field=models.CharField(default=scim_portal.models.resources.new_scim_id, editable=False,
                                   max_length=254, unique=True, verbose_name="SCIM id"),
        ),
        migrations.AlterField(
            model_name="scimgroup",
            name="scim_id",
            field=models.CharField(default=scim_portal.models.resources.new_scim_id, editable=False,
                                   max_length=254, unique=True, verbose_name="SCIM id"),
        ),
        migrations.RunPython(add_dashes, migrations.RunPython.noop, elidable=True),
    ]
