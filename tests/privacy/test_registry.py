"""The personal-data registry covers every table: a new table holding personal data without an
export/erasure rule fails here."""

from __future__ import annotations

from sqlalchemy import Table

from lending.models import Base
from lending.privacy.erasure import _DELETED
from lending.privacy.registry import NOT_PERSONAL, RULES, Erasure

# Column names that hold personal data wherever they appear.
PERSONAL_COLUMNS = {
    "email",
    "full_name",
    "borrower_name",
    "legal_first_name",
    "legal_last_name",
    "phone",
    "address_line1",
    "address_line2",
    "ip",
    "created_ip",
    "content",
    "comment",
    "filename",
    "user_id",
    "payee_id",
    "author_id",
    "created_by",
}


def _personal_columns(table: Table) -> list[str]:
    found = []
    for column in table.columns:
        points_at_person = any(
            fk.target_fullname == "user_account.id" for fk in column.foreign_keys
        )
        if points_at_person or column.name in PERSONAL_COLUMNS:
            found.append(column.name)
    return found


def test_every_table_has_a_rule_or_a_reason_it_holds_no_personal_data() -> None:
    tables = set(Base.metadata.tables)
    missing = sorted(tables - set(RULES) - set(NOT_PERSONAL))
    assert missing == [], f"tables without a privacy rule (lending/privacy/registry.py): {missing}"
    unknown = sorted((set(RULES) | set(NOT_PERSONAL)) - tables)
    assert unknown == [], f"the registry names tables that do not exist: {unknown}"


def test_a_table_said_to_hold_no_personal_data_has_no_personal_column() -> None:
    wrong = {
        name: _personal_columns(Base.metadata.tables[name])
        for name in NOT_PERSONAL
        if _personal_columns(Base.metadata.tables[name])
    }
    assert wrong == {}, f"these tables hold personal columns and need a rule: {wrong}"


def test_the_check_catches_a_new_personal_table() -> None:
    from sqlalchemy import Column, ForeignKey, MetaData, String, Uuid

    metadata = MetaData()
    Table("user_account", metadata, Column("id", Uuid, primary_key=True))
    newcomer = Table(
        "loyalty_card",
        metadata,
        Column("id", Uuid, primary_key=True),
        Column("holder", Uuid, ForeignKey("user_account.id")),
        Column("email", String),
    )
    assert _personal_columns(newcomer) == ["holder", "email"]


def test_every_rule_names_real_columns_and_omits_only_real_columns() -> None:
    for rule in RULES.values():
        table = Base.metadata.tables[rule.table]
        assert set(rule.omit) <= set(table.columns.keys()), rule.table


def test_every_table_whose_rule_says_delete_is_deleted_by_the_erasure() -> None:
    # A rule is a promise; the erasure's list of tables is what keeps it. (Notification
    # preferences and e-mail change requests were once registered and never deleted.)
    promised = {table for table, rule in RULES.items() if rule.erasure is Erasure.DELETE}
    assert promised == set(_DELETED)
