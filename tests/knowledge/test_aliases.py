"""Every name and synonym of every entry finds that entry, by lookup and by check, and nothing else.

A synonym that ``check`` reads as a longer or another entry is a matcher bug (or two
entries claiming one name); all failures are reported at once. Whether a synonym is
*right* (it names the same substance) is a data review, not something this can see.
"""

from __future__ import annotations

from veganalign import knowledge


def names_of(entry: knowledge.Entry) -> list[str]:
    return [entry.name, *entry.synonyms, *([entry.e_number] if entry.e_number else [])]


def test_every_alias_maps_to_its_entry() -> None:
    kb = knowledge.load_knowledge_base()
    failures = []
    for entry in kb.entries:
        for alias in names_of(entry):
            found = kb.lookup(alias)
            if found is not entry:
                failures.append(f"lookup({alias!r}) -> {found and found.name!r}, not {entry.name!r}")
                continue
            result = kb.check(alias)
            matched = [i.name for i in [*result.items, *result.may_contain]]
            if matched != [entry.name]:
                failures.append(f"check({alias!r}) matches {matched}, not [{entry.name!r}] ({kb.source(entry)})")
    assert not failures, f"{len(failures)} aliases do not map to their entry:\n" + "\n".join(failures)
