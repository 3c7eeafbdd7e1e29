"""Charging backends serve EVSEs: a backend may report only on sessions of the EVSEs it serves.

Where exactly one backend exists it has been reporting for every charger, so it keeps serving all
EVSEs; with several, an operator assigns them in the admin (nothing can be inferred safely).
"""

from typing import Any

import django.db.models.deletion
from django.db import migrations, models


def one_backend_serves_all(apps: Any, schema_editor: Any) -> None:
    ChargingBackend = apps.get_model("chargers", "ChargingBackend")
    ServedEvse = apps.get_model("chargers", "ServedEvse")
    Evse = apps.get_model("locations", "Evse")
    backends = list(ChargingBackend.objects.all()[:2])
    if len(backends) == 1:
        ServedEvse.objects.bulk_create(
            [ServedEvse(backend=backends[0], evse_id=pk) for pk in Evse.objects.values_list("pk", flat=True)]
        )


class Migration(migrations.Migration):

    dependencies = [
        ('chargers', '0002_backend_manage_credentials_permission'),
        ('locations', '0001_initial'),
    ]

    operations = [
        migrations.CreateModel(
            name='ServedEvse',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('backend', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='served_evses', to='chargers.chargingbackend')),
                ('evse', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='served_by', to='locations.evse')),
            ],
            options={
                'verbose_name': 'served EVSE',
                'verbose_name_plural': 'served EVSEs',
                'ordering': ('backend', 'evse'),
            },
        ),
        migrations.AddField(
            model_name='chargingbackend',
            name='evses',
            field=models.ManyToManyField(blank=True, help_text='The EVSEs whose chargers this backend speaks to: it may report only on their sessions.', related_name='charging_backends', through='chargers.ServedEvse', to='locations.evse'),
        ),
        migrations.RunPython(one_backend_serves_all, migrations.RunPython.noop),
    ]
