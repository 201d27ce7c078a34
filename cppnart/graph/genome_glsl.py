"""A genome compiled to GLSL ES 3.00: straight-line code, one float per node, weights as literals.

    source = genome_fragment_shader(g)              # WebGL2: u_z, u_zoom, u_center, u_size uniforms
    toy = genome_shadertoy_shader(g, z, View())     # one self-contained ShaderToy "Image" pass

A genome is small and irregular (Picbreeder's skull: 23 nodes, 57 links), so unlike the layered
CPPN's shader (``graph.glsl``: weights in a texture, loops) every link is one multiply-add with
its weight baked in; a new genome is a new shader. Coordinates are ``graph.glsl``'s pixel centres
(the shorter side spans [-1, 1] / zoom, y down), so the page draws what ``cppnart render`` draws.
"""

from __future__ import annotations

import numpy as np

from ..configs.view import View
from .genome import D_SCALE, GENOME_ACTIVATIONS, Genome, topological_order
from .genome_onnx import needed_nodes
from .glsl import ACTIVATIONS as BASE_GLSL
from .glsl import glsl_float

ACTIVATIONS: dict[str, str] = {
    **BASE_GLSL,
    "signed_gaussian": "return 2.0 * exp(-x * x) - 1.0;",
    "signed_sigmoid": "return 2.0 / (1.0 + exp(-x)) - 1.0;",
}
assert set(ACTIVATIONS) == set(GENOME_ACTIVATIONS)

PLANE = """// Pixel centre -> plane: the shorter side spans [-1, 1] / ZOOM around CENTER, y grows downward.
vec2 plane(vec2 frag, vec2 size) {
    vec2 q = vec2(frag.x, size.y - frag.y);
    return (q - 0.5 * size) / (0.5 * min(size.x, size.y)) / ZOOM + CENTER;
}"""

COLOUR = {
    "clip": "clamp(o, 0.0, 1.0)",
    "half": "clamp(0.5 + 0.5 * o, 0.0, 1.0)",
    "abs": "clamp(abs(o), 0.0, 1.0)",
}

HSV = """vec3 hsv_rgb(float h, float s, float v) {
    h = h + 1.0;
    h = h - floor(h);
    s = clamp(s, 0.0, 1.0);
    v = clamp(abs(v), 0.0, 1.0);
    vec3 k = vec3(5.0, 3.0, 1.0) + 6.0 * h;
    k = k - 6.0 * floor(k / 6.0);
    return v - v * s * clamp(min(k, 4.0 - k), 0.0, 1.0);
}"""


def _body(genome: Genome) -> str:
    """GLSL ``plane(frag, size)`` and ``vec3 cppn(vec2 p)`` reading ``Z[k]``, ``ZOOM`` and ``CENTER``."""
    needed = needed_nodes(genome)
    by_id = genome.by_id
    incoming: dict[int, list[str]] = {}
    for link in genome.enabled_links:
        incoming.setdefault(link.target, []).append(f"{glsl_float(link.weight)} * n{link.source}")
    used = sorted({by_id[n].activation for n in needed})
    functions = "\n".join(f"float act_{name}(float x) {{ {ACTIVATIONS[name]} }}" for name in used)
    lines = [functions, HSV if genome.colour == "hsv" else "", PLANE, "", "vec3 cppn(vec2 p) {"]
    inputs = {
        "x": "p.x",
        "y": "p.y",
        "d": f"{glsl_float(D_SCALE)} * sqrt(p.x * p.x + p.y * p.y)",
        "bias": "1.0",
    }
    ancestors = needed | {link.source for link in genome.enabled_links if link.target in needed}
    for node_id in topological_order(genome):
        node = by_id[node_id]
        if node.kind == "input" and node_id in ancestors:
            value = inputs.get(node.label) or f"Z[{int(node.label[1:])}]"
            lines.append(f"    float n{node_id} = {value};")
        elif node_id in needed:
            total = " + ".join(incoming.get(node_id, [])) or "0.0"
            lines.append(f"    float n{node_id} = act_{node.activation}({total});")
    outs = [f"n{n.id}" for n in genome.outputs]
    if genome.colour == "hsv":
        lines.append(f"    return hsv_rgb({', '.join(outs)});")
    elif genome.colour == "rgb":
        lines.append(f"    vec3 o = vec3({', '.join(outs)});")
        lines.append(f"    return {COLOUR[genome.squash]};")
    else:
        lines.append(f"    vec3 o = vec3({outs[0]});")
        lines.append(f"    return {COLOUR[genome.squash]};")
    lines.append("}")
    return "\n".join(lines)


def genome_fragment_shader(genome: Genome) -> str:
    """WebGL2 fragment shader of a genome: latent ``u_z``, view ``u_zoom`` / ``u_center``, canvas ``u_size``."""
    header = f"""#version 300 es
// cppnart genome: {len(genome.nodes)} nodes, {len(genome.links)} links, {genome.colour}
precision highp float;
precision highp int;
uniform float u_z[{genome.z_dim}];
uniform float u_zoom;
uniform vec2 u_center;
uniform vec2 u_size;
out vec4 color;
#define Z u_z
#define ZOOM u_zoom
#define CENTER u_center
"""
    main = "void main() { color = vec4(cppn(plane(gl_FragCoord.xy, u_size)), 1.0); }\n"
    return header + _body(genome) + "\n\n" + main


def genome_shadertoy_shader(genome: Genome, z: np.ndarray | None = None, view: View = View(), title: str = "") -> str:
    """A self-contained ShaderToy-style "Image" pass of a genome, z and view baked in."""
    values = np.asarray(z if z is not None else (genome.z or [0.0] * genome.z_dim), np.float32).reshape(-1)
    items = ", ".join(glsl_float(float(v)) for v in values)
    cx, cy = view.center
    header = "\n".join(
        [
            f"// {title or 'cppnart genome'}: written by `cppnart export --format glsl`.",
            "// Paste into a ShaderToy Image tab, or prepend `uniform vec3 iResolution;` and call mainImage.",
            f"const float Z[{values.size}] = float[{values.size}]({items});",
            f"const float ZOOM = {glsl_float(view.zoom)};",
            f"const vec2 CENTER = vec2({glsl_float(cx)}, {glsl_float(cy)});",
            "",
        ]
    )
    main = (
        "void mainImage(out vec4 fragColor, in vec2 fragCoord) {\n"
        "    fragColor = vec4(cppn(plane(fragCoord, iResolution.xy)), 1.0);\n"
        "}\n"
    )
    return header + _body(genome) + "\n\n" + main
