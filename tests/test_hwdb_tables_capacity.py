"""The book's hwdb tables show every capacity in GB and mark values printed in binary units."""

from __future__ import annotations

from docutils import nodes

import hwdb
from claims import hwdb_tables


def cell(record_id: str, field: str) -> tuple[str, str]:
    paragraph = hwdb_tables._field_cell(hwdb.load([])[record_id], field)
    assert isinstance(paragraph, nodes.paragraph)
    reference = paragraph.next_node(nodes.reference)
    assert reference is not None
    return paragraph.astext(), str(reference["reftitle"])


def test_capacities_are_shown_in_gb_whatever_the_source_printed() -> None:
    assert cell("h100-sxm", "hbm_capacity")[0] == "80 GB"
    assert cell("hdd-exos-x24", "capacity")[0] == "24,000 GB"
    text, title = cell("tpu-v5p", "hbm_capacity")
    assert text == f"102.01 GB {hwdb_tables.BINARY_MARK}"  # 95 GiB = 95 * 2^30 bytes
    assert "printed 95 GiB" in title


def test_other_fields_keep_the_unit_the_source_printed() -> None:
    assert cell("tpu-v5p", "hbm_bandwidth")[0] == "2,765 GB/s"
    assert hwdb_tables.BINARY_MARK not in cell("h100-sxm", "hbm_capacity")[0]
