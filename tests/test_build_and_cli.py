"""Rebuilds are idempotent and atomic; bad documents fail loudly; the CLI speaks JSON; contacts import safely."""
from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot.build import build
from bot.ingest import SEEDS_DIR, IngestError

ROOT = Path(__file__).resolve().parent.parent


def copy_seeds(tmp_path: Path) -> Path:
    seeds = tmp_path / "seeds"
    shutil.copytree(SEEDS_DIR, seeds)
    return seeds


def counts(path: Path):
    with sqlite3.connect(path) as c:
        return c.execute("select count(*) from measures").fetchone()[0], c.execute("select count(*) from documents").fetchone()[0]


def test_rebuild_is_idempotent(tmp_path):
    url = f"sqlite:///{tmp_path/'m.db'}"
    assert build(url) == build(url)
    assert counts(tmp_path / "m.db") == (215, 5)


@pytest.mark.parametrize("damage, message", [
    (lambda s: (s / "000_5af0f0f8f737ddd0.txt").write_text(""), "empty"),
    (lambda s: (s / "001_b682e3cf10297c15.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00binary"), "not UTF-8 text"),
    (lambda s: (s / "003_20f5e1aede00f15e.txt").write_text("这是一段没有任何条目编号的文字。\n第二行。\n", encoding="utf-8"), "no items recognised"),
    (lambda s: (s / "002_ae791fdead5d71ad.txt").unlink(), "does not exist"),
])
def test_bad_document_fails_and_leaves_previous_database(tmp_path, damage, message):
    db_file = tmp_path / "m.db"
    url = f"sqlite:///{db_file}"
    build(url)
    before = db_file.read_bytes()
    seeds = copy_seeds(tmp_path)
    damage(seeds)
    with pytest.raises(IngestError) as err:
        build(url, seeds_dir=seeds)
    assert message in str(err.value)
    assert "seeds/" in err.value.file
    assert db_file.read_bytes() == before
    assert not list(tmp_path.glob("m.db.*.tmp"))


def test_manifest_validity_contradicting_the_text_is_an_error(tmp_path):
    seeds = copy_seeds(tmp_path)
    manifest = yaml.safe_load((seeds / "manifest.yml").read_text(encoding="utf-8"))
    manifest["documents"][0]["valid_until"] = "2021-06-30"
    (seeds / "manifest.yml").write_text(yaml.safe_dump(manifest, allow_unicode=True), encoding="utf-8")
    with pytest.raises(IngestError) as err:
        build(f"sqlite:///{tmp_path/'m.db'}", seeds_dir=seeds)
    assert "2020-12-31" in str(err.value) and err.value.line > 1


def test_a_sixth_document_needs_only_a_file_and_a_manifest_entry(tmp_path):
    seeds = copy_seeds(tmp_path)
    (seeds / "005_test.txt").write_text(
        "一、减免租金。对承租国有物业的小微企业减免3个月租金。(区国资局牵头)\n"
        "二、稳岗补贴。对不裁员的企业按每人300元给予补贴。(区人社局牵头)\n", encoding="utf-8")
    manifest = yaml.safe_load((seeds / "manifest.yml").read_text(encoding="utf-8"))
    manifest["documents"].append({"file": "005_test.txt", "title": "测试措施", "region": "黄埔区",
                                  "layout": "numbered_items_with_lead_parens", "valid_until": "2030-12-31"})
    (seeds / "manifest.yml").write_text(yaml.safe_dump(manifest, allow_unicode=True), encoding="utf-8")
    build(f"sqlite:///{tmp_path/'m.db'}", seeds_dir=seeds)
    assert counts(tmp_path / "m.db") == (217, 6)


def run_cli(*args, env_db=None):
    cmd = [sys.executable, "-m", "bot"] + (["--database-url", env_db] if env_db else []) + list(args)
    return subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=120)


def test_cli_ask_json_has_the_documented_fields(db_url):
    out = run_cli("ask", "增城区小微企业贷款贴息", "--json", "--limit", "3", env_db=db_url)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["slots"]["district"] == "增城区" and set(data["slots"]["size"]) == {"小型", "微型"}
    top = data["results"][0]
    for key in ("document", "region", "item", "text", "lead_units", "responsible_units", "amounts", "valid_until",
                "expired", "sizes", "industries", "districts", "topics", "contacts"):
        assert key in top
    assert top["lead_units"] == ["区科工商信局"] and top["expired"] is True


def test_cli_stats_json(db_url):
    data = json.loads(run_cli("stats", "--json", env_db=db_url).stdout)
    assert {k: v["measures"] for k, v in data["documents"].items()} == {"000": 111, "001": 32, "002": 54, "003": 8, "004": 10}
    assert data["tags"]["size"]["小型"] >= 10


def test_cli_build_failure_exits_nonzero_with_file_and_line(tmp_path):
    seeds = copy_seeds(tmp_path)
    (seeds / "004_205db0b0f84c3f3e.txt").write_text("", encoding="utf-8")
    code = ("import sys; from pathlib import Path; import bot.ingest as i; i.SEEDS_DIR = Path(sys.argv[1]); "
            "import bot.build as b; b.SEEDS_DIR = i.SEEDS_DIR; from bot.__main__ import main; "
            "sys.exit(main(['--database-url', sys.argv[2], 'build']))")
    # the CLI's default seeds dir is patched to the damaged copy
    out = subprocess.run([sys.executable, "-c", code, str(seeds), f"sqlite:///{tmp_path/'x.db'}"], capture_output=True,
                         text=True, cwd=ROOT)
    assert out.returncode == 2
    assert "004_205db0b0f84c3f3e.txt:1" in out.stderr and "Traceback" not in out.stderr


def test_contacts_import_validates_everything_first_and_survives_rebuild(tmp_path):
    url = f"sqlite:///{tmp_path/'m.db'}"
    build(url)
    template = tmp_path / "units.csv"
    assert run_cli("contacts", "export", str(template), env_db=url).returncode == 0
    header = template.read_text(encoding="utf-8").splitlines()[0]
    assert header.startswith("region,unit,full_name,phone")
    bad = tmp_path / "bad.csv"
    bad.write_text("region,unit,phone,source\n增城区,区发改局,TEST-PHONE-1,测试名录\n增城区,不存在的局,1,测试\n", encoding="utf-8")
    out = run_cli("contacts", "import", str(bad), env_db=url)
    assert out.returncode == 1 and "不存在的局" in out.stdout
    good = tmp_path / "good.csv"
    good.write_text("region,unit,phone,source\n增城区,区发改局,(000) 0000-0000,测试名录 2026\n", encoding="utf-8")
    assert json.loads(run_cli("contacts", "import", str(good), env_db=url).stdout)["imported"] == 1
    build(url)  # contacts are a person's data: a rebuild keeps them
    data = json.loads(run_cli("ask", "增城区 政银企对接", "--json", "--limit", "50", env_db=url).stdout)
    fgj = [c for r in data["results"] for c in r["contacts"] if c["name"] == "区发展改革局"]
    assert fgj and fgj[0]["phone"] == "(000) 0000-0000" and fgj[0]["source"] == "测试名录 2026"


def test_a_running_assistant_answers_from_the_new_build_and_new_contacts(tmp_path):
    """Answers are served from a per-build cache and pooled connections in the process: a
    rebuild and a contact import made by another process while it runs must show in the
    next answer, without a restart."""
    from bot import db
    from bot.query import Profile, find_measures

    seeds = copy_seeds(tmp_path)
    manifest = yaml.safe_load((seeds / "manifest.yml").read_text(encoding="utf-8"))
    manifest["documents"].append({"file": "005_test.txt", "title": "测试措施", "region": "黄埔区",
                                  "layout": "numbered_items_with_lead_parens", "valid_until": "2030-12-31"})
    (seeds / "manifest.yml").write_text(yaml.safe_dump(manifest, allow_unicode=True), encoding="utf-8")
    url = f"sqlite:///{tmp_path/'m.db'}"

    def answer():
        with db.session_factory(url)() as s:
            found = find_measures(s, Profile.from_slots(district="黄埔区"), text="减免租金", limit=10)
        return [r for r in found.results if r.document == "测试措施"][0]

    for months in (3, 6):
        (seeds / "005_test.txt").write_text(
            f"一、减免租金。对承租国有物业的小微企业减免{months}个月租金。(区国资局牵头)\n", encoding="utf-8")
        rebuilt = subprocess.run([sys.executable, "-c", "import sys; from pathlib import Path; from bot.build import build; "
                                  "build(sys.argv[1], seeds_dir=Path(sys.argv[2]))", url, str(seeds)],
                                 cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert rebuilt.returncode == 0, rebuilt.stderr
        first = answer()
        assert f"减免{months}个月租金" in first.text
        assert [c.get("phone") for c in first.contacts] == [None]
    contacts = tmp_path / "contacts.csv"
    contacts.write_text("region,unit,phone,source\n黄埔区,区国资局,(000) 1111-2222,测试名录\n", encoding="utf-8")
    assert run_cli("contacts", "import", str(contacts), env_db=url).returncode == 0
    assert [c["phone"] for c in answer().contacts] == ["(000) 1111-2222"]
    db.dispose_engine(url)


# --------------------------------------------------------------------------- contacts a rebuild cannot read
def _with_contacts(tmp_path) -> Path:
    """A built database holding one hand-imported contact."""
    from bot.contacts import import_csv
    db_file = tmp_path / "m.db"
    build(f"sqlite:///{db_file}")
    directory = tmp_path / "directory.csv"
    directory.write_text("region,unit,phone,source\n增城区,区发改局,(000) 0000-0000,测试名录 2026\n", encoding="utf-8")
    assert import_csv(str(directory), f"sqlite:///{db_file}") == {"imported": 1, "errors": []}
    from bot import db
    db.dispose_engine(f"sqlite:///{db_file}")
    return db_file


def _overwrite_contacts_page(db_file: Path) -> None:
    """Damage the page holding the contacts table's rows (as a disk or a bad copy would)."""
    with sqlite3.connect(db_file) as c:
        page_size = c.execute("pragma page_size").fetchone()[0]
        root = c.execute("select rootpage from sqlite_master where name = 'contacts'").fetchone()[0]
    with open(db_file, "r+b") as fh:
        fh.seek((root - 1) * page_size)
        fh.write(b"\xa5" * page_size)


@pytest.mark.parametrize("damage, reason", [
    (lambda f: f.write_bytes(b"this is not a database, it was overwritten" * 100), "not a database"),
    (_overwrite_contacts_page, "malformed"),
    (lambda f: (f.unlink(), f.mkdir()), "not a regular file"),
], ids=["overwritten", "contacts-page-damaged", "a-directory"])
def test_unreadable_old_database_stops_the_build_and_keeps_its_contacts(tmp_path, damage, reason):
    """The issue: with the database deleted or corrupt, `bot build` restored the measures and
    silently dropped every hand-imported contact."""
    from bot.build import ContactsUnreadable
    db_file = _with_contacts(tmp_path)
    damage(db_file)
    before = db_file.read_bytes() if db_file.is_file() else None
    with pytest.raises(ContactsUnreadable) as err:
        build(f"sqlite:///{db_file}")
    assert str(db_file) in str(err.value) and "contacts" in str(err.value) and reason in str(err.value)
    assert (db_file.read_bytes() if db_file.is_file() else None) == before
    assert not list(tmp_path.glob("m.db.*.tmp"))
    out = run_cli("build", env_db=f"sqlite:///{db_file}")  # what an operator sees
    assert out.returncode == 2 and str(db_file) in out.stderr and "contacts" in out.stderr
    assert "Traceback" not in out.stderr


def test_a_missing_or_empty_database_builds_and_a_readable_one_keeps_its_contacts(tmp_path):
    from bot.build import read_contacts
    db_file = _with_contacts(tmp_path)
    build(f"sqlite:///{db_file}")
    assert [(c["region"], c["phone"], c["source"]) for c in read_contacts(db_file)] == [
        ("增城区", "(000) 0000-0000", "测试名录 2026")]
    db_file.unlink()
    db_file.write_bytes(b"")  # what a connection leaves after the file was deleted
    assert build(f"sqlite:///{db_file}")["measures"] > 0 and read_contacts(db_file) == []
    fresh = tmp_path / "first.db"
    assert build(f"sqlite:///{fresh}")["measures"] > 0
