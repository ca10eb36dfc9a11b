"""One test per system check id."""

from __future__ import annotations

import pytest
from django.test import override_settings

from scim_portal import checks


def ids(messages) -> list[str]:
    return [m.id for m in messages]


def test_default_configuration_is_clean():
    assert checks.check_installed_apps() == []
    assert checks.check_settings() == []
    assert checks.check_models() == []


def test_e001_missing_required_app(settings):
    settings.INSTALLED_APPS = [a for a in settings.INSTALLED_APPS if a != "oauth2_provider"]
    assert ids(checks.check_installed_apps()) == ["scim_portal.E001"]


@override_settings(SCIM_PORTAL=["not", "a", "dict"])
def test_e002_not_a_dict():
    assert ids(checks.check_settings()) == ["scim_portal.E002"]


@override_settings(SCIM_PORTAL={"MAX_PAGESIZE": 10})
def test_e003_unknown_key():
    messages = checks.check_settings()
    assert ids(messages) == ["scim_portal.E003"]
    assert "MAX_PAGESIZE" in messages[0].msg


@override_settings(SCIM_PORTAL={"UNKNOWN_MEMBERS": "skip"})
def test_e011_unknown_members_choice():
    assert ids(checks.check_settings()) == ["scim_portal.E011"]


@override_settings(SCIM_PORTAL={"UNKNOWN_MEMBERS": "ignore"})
def test_e011_accepts_ignore():
    assert checks.check_settings() == []


@override_settings(SCIM_PORTAL={"LOG_READS": "none"})
def test_e013_log_reads_choice():
    assert ids(checks.check_settings()) == ["scim_portal.E013"]


@pytest.mark.parametrize("value", ["sampled", "all"])
def test_e013_accepts_sampled_and_all(value):
    with override_settings(SCIM_PORTAL={"LOG_READS": value}):
        assert checks.check_settings() == []


@override_settings(SCIM_PORTAL={"MAX_PAGE_SIZE": 0})
def test_e004_bad_size():
    assert "scim_portal.E004" in ids(checks.check_settings())


@override_settings(SCIM_PORTAL={"DEFAULT_PAGE_SIZE": 50, "MAX_PAGE_SIZE": 10})
def test_e004_default_above_max():
    assert ids(checks.check_settings()) == ["scim_portal.E004"]


@override_settings(SCIM_PORTAL={"ADAPTER": "nowhere.Adapter"})
def test_e005_adapter_not_importable():
    assert ids(checks.check_settings()) == ["scim_portal.E005"]


@override_settings(SCIM_PORTAL={"ADAPTER": "scim_portal.conf.AppSettings"})
def test_e005_adapter_wrong_class():
    assert ids(checks.check_settings()) == ["scim_portal.E005"]


@override_settings(SCIM_PORTAL_GROUP_MODEL="nope.Group")
def test_e006_group_model_missing():
    assert ids(checks.check_models()) == ["scim_portal.E006"]


@override_settings(SCIM_PORTAL={"USER_GROUPS_FIELD": "licence"})
def test_e007_groups_field_not_m2m():
    assert ids(checks.check_models()) == ["scim_portal.E007"]


@override_settings(SCIM_PORTAL={"GROUP_NAME_FIELD": "title"})
def test_e008_group_name_field():
    assert ids(checks.check_models()) == ["scim_portal.E008"]


@override_settings(SCIM_PORTAL={"USER_ATTRIBUTE_MAP": {"name.givenName": "first_name"}})
def test_e009_map_without_username():
    assert ids(checks.check_models()) == ["scim_portal.E009"]


@override_settings(SCIM_PORTAL={"USER_ATTRIBUTE_MAP": {"userName": "email", "title": "job"}})
def test_e010_map_to_unknown_field():
    messages = checks.check_models()
    assert ids(messages) == ["scim_portal.E010"]
    assert "'job'" in messages[0].msg


SQLITE_FILE = {"ENGINE": "django.db.backends.sqlite3", "NAME": "/tmp/portal.sqlite3"}


@pytest.mark.filterwarnings("ignore:Overriding setting DATABASES")
def test_w012_sqlite_file_without_immediate_transactions(settings):
    settings.DATABASES = {"default": SQLITE_FILE}
    messages = checks.check_sqlite_writes()
    assert ids(messages) == ["scim_portal.W012"]
    assert "DATABASES['default']" in messages[0].msg


@pytest.mark.filterwarnings("ignore:Overriding setting DATABASES")
def test_w012_is_reported_by_manage_py_check(settings):
    import io

    from django.core.management import call_command

    settings.DATABASES = {"default": SQLITE_FILE}
    err = io.StringIO()
    call_command("check", stdout=io.StringIO(), stderr=err)
    assert "scim_portal.W012" in err.getvalue()


@pytest.mark.filterwarnings("ignore:Overriding setting DATABASES")
def test_w012_is_silent_with_immediate_transactions_in_memory_and_on_postgres(settings):
    immediate = {**SQLITE_FILE, "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": 20}}
    postgres = {"ENGINE": "django.db.backends.postgresql", "NAME": "portal"}
    for database in (immediate, {**SQLITE_FILE, "NAME": ":memory:"}, postgres):
        settings.DATABASES = {"default": database}
        assert checks.check_sqlite_writes() == []


def test_w012_the_example_portal_settings_pass():
    from portal_site import settings as example

    if example.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        assert not checks.sqlite_without_immediate(example.DATABASES["default"])
