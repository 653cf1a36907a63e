"""A whole run whose mutator produces nothing but hostile programs: the run reaches its
budget, every candidate is stored with an outcome and a reason, the archive keeps the
seed's elite, and nothing escapes."""

from __future__ import annotations

import json
import re

from elmcore.config import build_config
from elmcore.engine import Engine
from elmcore.plugins import PluginManager
from hostile_programs import PARITY_PROGRAMS
from hostile_run_plugin import HostileRunPlugin


HOSTILE = [h for h in PARITY_PROGRAMS if not h.needs]  # outcomes that hold with any set of layers


def test_run_of_hostile_programs_goes_on(tmp_path, surroundings):
    programs = [surroundings.fill(h.code) for h in HOSTILE]
    programs_file = tmp_path / "programs.json"
    programs_file.write_text(json.dumps(programs))
    pm = PluginManager(plugins=[("hostile-run", HostileRunPlugin())]).load()
    n = len(programs)
    config = build_config(pm, shortcuts={"domain.name": "parity-quick", "mutator.name": "replay"}, overrides=[
        f"mutator.programs_file={programs_file}", f"run.evals={1 + 2 * n}", f"run.batch_size={n}", "run.workers=2",
        "run.deduplicate=false"])  # each hostile program runs twice on purpose
    engine = Engine.start(tmp_path / "run", config, pm)
    stats = engine.run()
    store = engine.store
    assert store.count() == 1 + 2 * n
    records = list(store.iter_candidates("operator = 'replay'"))
    assert len(records) == 2 * n
    for k, record in enumerate(records):
        hostile = HOSTILE[k % n]
        assert record.outcome in hostile.expect, f"{hostile.name}: {record.outcome} {record.reason}"
        if record.outcome != "valid":
            assert record.reason, hostile.name
        if hostile.reason:
            assert re.search(hostile.reason, record.reason or ""), f"{hostile.name}: {record.reason}"
    assert stats.filled >= 1 and stats.max_fitness == 1.0
    engine.close()
    surroundings.assert_nothing_escaped()


def test_unstorable_strings_neither_end_nor_block_a_run(tmp_path, surroundings):
    """Programs whose error, returned data or forged result holds lone surrogates (text that
    UTF-8 cannot store): the run reaches its budget, resumes, and every string is stored
    with the surrogates written as escapes."""
    surrogate = [h for h in PARITY_PROGRAMS if "surrogate" in h.name]
    assert len(surrogate) >= 3
    programs_file = tmp_path / "programs.json"
    programs_file.write_text(json.dumps([surroundings.fill(h.code) for h in surrogate]))
    pm = PluginManager(plugins=[("hostile-run", HostileRunPlugin())]).load()
    n = len(surrogate)
    config = build_config(pm, shortcuts={"domain.name": "parity-quick", "mutator.name": "replay"}, overrides=[
        f"mutator.programs_file={programs_file}", f"run.evals={1 + n}", f"run.batch_size={n}", "run.workers=1",
        "run.deduplicate=false"])  # the resumed batch replays the same programs: evaluate them again
    engine = Engine.start(tmp_path / "run", config, pm)
    engine.run()
    engine.close()
    engine = Engine.resume(tmp_path / "run", pm, evals=1 + 2 * n)
    engine.run()
    store = engine.store
    assert store.count() == 1 + 2 * n
    records = list(store.iter_candidates("operator = 'replay'"))
    by_name = {h.name: records[k] for k, h in enumerate(surrogate)}
    assert "\\udcff" in by_name["lone_surrogate_in_error"].reason
    assert "\\ud800" in by_name["lone_surrogate_in_error"].reason
    assert by_name["lone_surrogate_in_returned_data"].outcome == "valid"
    assert "\\udcff" in by_name["lone_surrogate_in_returned_data"].extras["first_error"]
    for record in records:
        for text in (record.reason, record.program, json.dumps(record.extras, ensure_ascii=False)):
            (text or "").encode("utf-8")  # everything read back is storable text
    engine.close()
    surroundings.assert_nothing_escaped()
