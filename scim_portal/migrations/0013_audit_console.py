"""The audit console: log search columns, a permission for log bodies, group adoption,
and the record of SCIM membership changes.

The provisioning log can hold millions of rows: its two search indexes are
partial (only entries about one resource) and built ``CONCURRENTLY`` on
PostgreSQL, so the migration is not atomic (see scim_portal.db).  The new
columns get an empty default, which PostgreSQL adds without rewriting the table.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from scim_portal.db import AddIndexConcurrently

# The group model is configurable (SCIM_PORTAL_GROUP_MODEL), like AUTH_USER_MODEL.
GROUP_MODEL = getattr(settings, "SCIM_PORTAL_GROUP_MODEL", "auth.Group")


class Migration(migrations.Migration):

    atomic = False

    dependencies = [
        ('scim_portal', "0012_deprovisioning_brake_and_access_review"),
        migrations.swappable_dependency(GROUP_MODEL),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='MembershipChange',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('created', models.DateTimeField(verbose_name='time')),
                ('group_name', models.CharField(max_length=255, verbose_name='group name')),
                ('change', models.CharField(choices=[('joined', 'joined'), ('left', 'left')], max_length=10, verbose_name='change')),
                ('request_id', models.CharField(blank=True, max_length=64, verbose_name='request id')),
            ],
            options={
                'verbose_name': 'group membership change',
                'verbose_name_plural': 'group membership changes',
                'ordering': ['-created', '-id'],
            },
        ),
        migrations.AlterModelOptions(
            name='provisioninglog',
            options={'ordering': ['-created', '-id'], 'permissions': [('view_log_bodies', 'Can read and export SCIM request and response bodies')], 'verbose_name': 'provisioning log entry', 'verbose_name_plural': 'provisioning log'},
        ),
        migrations.AddField(
            model_name='historicalintegration',
            name='adopt_existing_groups',
            field=models.BooleanField(default=False, help_text='A group the IdP creates with the name of a portal group no integration manages takes that group over (its portal members stay) instead of answering 409. The IdP may then rename it, change its members and delete it.', verbose_name='adopt existing portal groups'),
        ),
        migrations.AddField(
            model_name='integration',
            name='adopt_existing_groups',
            field=models.BooleanField(default=False, help_text='A group the IdP creates with the name of a portal group no integration manages takes that group over (its portal members stay) instead of answering 409. The IdP may then rename it, change its members and delete it.', verbose_name='adopt existing portal groups'),
        ),
        migrations.AddField(
            model_name='provisioninglog',
            name='email_key',
            field=models.CharField(blank=True, default='', editable=False, max_length=254),
        ),
        migrations.AddField(
            model_name='provisioninglog',
            name='subject',
            field=models.CharField(blank=True, default='', help_text='The userName or displayName of the resource, as the IdP sent it.', max_length=255, verbose_name='subject'),
        ),
        migrations.AddField(
            model_name='provisioninglog',
            name='subject_key',
            field=models.CharField(blank=True, default='', editable=False, max_length=255),
        ),
        AddIndexConcurrently(
            model_name='provisioninglog',
            index=models.Index(condition=models.Q(('subject_key', ''), _negated=True), fields=['subject_key'], name='scim_log_subject', opclasses=['varchar_pattern_ops']),
        ),
        AddIndexConcurrently(
            model_name='provisioninglog',
            index=models.Index(condition=models.Q(('email_key', ''), _negated=True), fields=['email_key'], name='scim_log_email', opclasses=['varchar_pattern_ops']),
        ),
        migrations.AddField(
            model_name='membershipchange',
            name='actor',
            field=models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='by'),
        ),
        migrations.AddField(
            model_name='membershipchange',
            name='group',
            field=models.ForeignKey(db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=GROUP_MODEL, verbose_name='group'),
        ),
        migrations.AddField(
            model_name='membershipchange',
            name='integration',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='scim_portal.integration', verbose_name='integration'),
        ),
        migrations.AddField(
            model_name='membershipchange',
            name='user',
            field=models.ForeignKey(db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='user'),
        ),
        migrations.AddIndex(
            model_name='membershipchange',
            index=models.Index(fields=['user', '-created'], name='scim_membership_user'),
        ),
        migrations.AddIndex(
            model_name='membershipchange',
            index=models.Index(fields=['group', '-created'], name='scim_membership_group'),
        ),
    ]
