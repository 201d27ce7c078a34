"""Picbreeder genomes: its XML (or the zip it is published in) read into a cppnart ``Genome``.

    g = read_picbreeder("skull.zip")       # -> graph.genome.Genome, validated
    g = parse_picbreeder(xml_bytes, "skull.xml")

A Picbreeder genome is ``<genome>`` with ``<nodes>`` (``<node type="in|hidden|out" label=...>``
holding a ``<marking branch= id=>`` and an ``<activation>`` such as ``gaussian(x)``) and
``<links>`` (``<link>`` holding ``<source>``, ``<target>`` markings and a ``<weight>``). Nodes are
named by (branch, id); they are renumbered 0.. in file order, links get innovations 1.. in file
order. Picbreeder's activations are its own (``gaussian(x) = 2 exp(-x²) - 1``, ``sigmoid(x) =
2 / (1 + exp(-x)) - 1``): they map onto the genome table's ``signed_*`` entries. A grey genome's
``ink`` output is drawn as ``clip(|ink|, 0, 1)`` (squash ``abs``: the skull's reference render
correlates with it at 1.000, against 0.93 for a plain clip), a colour
genome's hue, saturation and brightness with Picbreeder's HSV conversion (``genome.colour_map``).
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from xml.etree import ElementTree

from ..errors import UserError
from .genome import MAX_FILE_BYTES, MAX_LINKS, MAX_NODES, Genome, Link, Node, read_bounded, validate

# Picbreeder's activation names -> the genome table's
ACTIVATION_NAMES: dict[str, str] = {
    "gaussian(x)": "signed_gaussian",
    "sigmoid(x)": "signed_sigmoid",
    "sin(x)": "sin",
    "cos(x)": "cos",
    "tanh(x)": "tanh",
    "identity(x)": "identity",
    "abs(x)": "abs",
}
INPUT_LABELS = {"x", "y", "d", "bias"}
HSV = ("hue", "saturation", "brightness")
MAX_ZIP_MEMBERS = 16


def _xml_from_zip(data: bytes, where: str) -> bytes:
    """The one XML member of a Picbreeder zip, read with a size bound (a zip bomb stops at the limit)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = [m for m in archive.infolist() if not m.is_dir()]
            if not members or len(members) > MAX_ZIP_MEMBERS:
                raise UserError(f"{where}: a Picbreeder zip holds one genome file; this one holds {len(members)}")
            with archive.open(members[0]) as member:
                xml = member.read(MAX_FILE_BYTES + 1)
    except zipfile.BadZipFile:
        raise UserError(f"{where}: not a zip file (corrupt or truncated)") from None
    if len(xml) > MAX_FILE_BYTES:
        raise UserError(f"{where}: the genome inside is larger than {MAX_FILE_BYTES >> 20} MiB; refused")
    return xml


def _marking(element: ElementTree.Element | None, where: str, what: str) -> tuple[str, str]:
    if element is None:
        raise UserError(f"{where}: a {what} has no marking")
    return element.get("branch", ""), element.get("id", "")


def parse_picbreeder(data: bytes, where: str = "picbreeder genome") -> Genome:
    """A validated ``Genome`` from Picbreeder XML bytes; a one-line UserError for anything else."""
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:  # entity tricks (billion laughs) have no place here
        raise UserError(f"{where}: XML with a DOCTYPE or entities is refused; a Picbreeder genome has none")
    if data.count(b"<node") > MAX_NODES + 1 or data.count(b"<link") > MAX_LINKS + 1:  # before parsing
        raise UserError(f"{where}: more than {MAX_NODES} nodes or {MAX_LINKS} links; a genome this large is refused")
    try:
        root = ElementTree.fromstring(data)
    except ElementTree.ParseError as exc:
        raise UserError(f"{where}: not a Picbreeder genome: not XML ({exc})") from None
    genome_el = root if root.tag == "genome" else root.find("genome")
    if genome_el is None:
        raise UserError(f"{where}: not a Picbreeder genome: no <genome> element")
    node_els = genome_el.findall("./nodes/node")
    link_els = genome_el.findall("./links/link")
    if len(node_els) > MAX_NODES or len(link_els) > MAX_LINKS:
        raise UserError(f"{where}: more than {MAX_NODES} nodes or {MAX_LINKS} links; a genome this large is refused")
    ids: dict[tuple[str, str], int] = {}
    nodes: list[Node] = []
    for element in node_els:
        key = _marking(element.find("marking"), where, "node")
        if key in ids:
            raise UserError(f"{where}: node {key[0]}/{key[1]} appears twice")
        ids[key] = len(nodes)
        kind = {"in": "input", "out": "output", "hidden": "hidden"}.get(element.get("type", ""), "")
        if not kind:
            raise UserError(f"{where}: node {key[0]}/{key[1]} has unknown type '{element.get('type')}'")
        text = (element.findtext("activation") or "identity(x)").strip()
        if kind != "input" and text not in ACTIVATION_NAMES:
            raise UserError(
                f"{where}: node {key[0]}/{key[1]} has unknown activation '{text[:40]}'; "
                f"cppnart reads {', '.join(ACTIVATION_NAMES)}"
            )
        activation = "identity" if kind == "input" else ACTIVATION_NAMES[text]
        nodes.append(Node(ids[key], kind, activation, element.get("label", "") if kind != "hidden" else ""))
    labels = {n.label for n in nodes if n.kind == "output"}
    colour = "hsv" if set(HSV) <= labels else "grey"
    # A colour genome may also carry ink (unused by the colour picture): keep it as a hidden node.
    nodes = [
        Node(n.id, "hidden", n.activation) if n.kind == "output" and colour == "hsv" and n.label not in HSV else n
        for n in nodes
    ]
    links: list[Link] = []
    for number, element in enumerate(link_els, start=1):
        ends = []
        for end in ("source", "target"):
            key = _marking(element.find(end), where, f"link's {end}")
            if key not in ids:
                raise UserError(f"{where}: link {number} refers to node {key[0]}/{key[1]}, which does not exist")
            ends.append(ids[key])
        try:
            weight = float((element.findtext("weight") or "").strip())
        except ValueError:
            raise UserError(f"{where}: link {number} has no numeric <weight>") from None
        enabled = element.get("enabled", "true").lower() != "false"
        links.append(Link(number, ends[0], ends[1], weight, enabled))
    genome = Genome(tuple(nodes), tuple(links), colour=colour, squash="abs" if colour == "grey" else "clip")
    return validate(genome, where)


def read_picbreeder(path: str | Path) -> Genome:
    """A Picbreeder genome file: its XML, or the zip it is published in."""
    path = Path(path)
    where = f"'{path}'"
    data = read_bounded(path)
    if path.suffix.lower() == ".zip" or data[:4] == b"PK\x03\x04":
        data = _xml_from_zip(data, where)
    return parse_picbreeder(data, where)
