"""A CPPN compiled to a GLSL ES 3.00 fragment shader: the browser viewer's renderer, and `export --format glsl`.

    layout = WeightLayout.of(weights)                  # where each array sits in one flat float32 buffer
    source = fragment_shader(weights)                  # WebGL2: weights in a texture, z and view as uniforms
    toy = shadertoy_shader(weights, z, View())         # one self-contained ShaderToy "Image" pass

The shader computes ``graph.numpy_forward.forward`` per pixel, in float32, with the same
pixel-centre coordinates as ``render.coords`` (shorter side spans [-1, 1] / zoom around the
centre, y down). The hidden activations come from the one table in ``configs/activations`` and
the outputs are composed from them as everywhere else; the check below fails at import when the
table names an activation this backend lacks.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from ..configs.activations import OUTPUTS, check_backend
from ..configs.view import View
from ..errors import UserError
from .weights import CPPNWeights

# name -> GLSL body of `float act_NAME(float x)`. Written to stay finite where the textbook form
# overflows in float32: GLSL's tanh is (e^2x - 1)/(e^2x + 1) on some drivers, NaN past x = 44.
ACTIVATIONS: dict[str, str] = {
    "tanh": "return 1.0 - 2.0 / (exp(2.0 * x) + 1.0);",
    "softplus": "return max(x, 0.0) + log(1.0 + exp(-abs(x)));",
    "sin": "return sin(x);",
    "cos": "return cos(x);",
    "gaussian": "return exp(-x * x);",
    "abs": "return abs(x);",
    "relu": "return max(x, 0.0);",
    "sigmoid": "return 1.0 / (1.0 + exp(-x));",
    "identity": "return x;",
}
check_backend("GLSL", ACTIVATIONS)

TEXTURE_WIDTH = 2048  # WebGL2 guarantees textures this wide; the weights fill rows of it


@dataclass(frozen=True)
class WeightLayout:
    """Offsets of every array in the flat buffer the shader reads, and the buffer itself.

    The input scale is folded into the first layer as the ONNX graph does (``scale * w``), so
    both round the same way.
    """

    buffer: np.ndarray  # float32, flat
    w_coords: int
    w_z: int
    b0: int
    hidden: tuple[tuple[int, int], ...]  # (w, b) offsets
    w_out: int
    b_out: int
    widths: tuple[int, ...]  # units per layer: first layer, then each hidden layer

    @classmethod
    def of(cls, weights: CPPNWeights) -> WeightLayout:
        """Lay out ``weights`` into one flat float32 buffer, in the order the shader indexes them."""
        scale = np.float32(weights.scale)
        arrays = [
            (weights.w_coords * scale).astype(np.float32),
            (weights.w_z * scale).astype(np.float32),
            weights.b0,
        ]
        for w, b in weights.hidden:
            arrays += [w, b]
        arrays += [weights.w_out, weights.b_out]
        offsets = np.cumsum([0] + [a.size for a in arrays]).tolist()
        flat = np.concatenate([np.asarray(a, np.float32).reshape(-1) for a in arrays])
        n_hidden = len(weights.hidden)
        return cls(
            buffer=flat,
            w_coords=offsets[0],
            w_z=offsets[1],
            b0=offsets[2],
            hidden=tuple((offsets[3 + 2 * i], offsets[4 + 2 * i]) for i in range(n_hidden)),
            w_out=offsets[3 + 2 * n_hidden],
            b_out=offsets[4 + 2 * n_hidden],
            widths=(weights.w_coords.shape[1], *(w.shape[1] for w, _ in weights.hidden)),
        )

    def texture(self) -> tuple[np.ndarray, int, int]:
        """The buffer padded to whole rows of ``TEXTURE_WIDTH``: (data, width, height) for an R32F texture."""
        rows = max(1, -(-self.buffer.size // TEXTURE_WIDTH))
        data = np.zeros(rows * TEXTURE_WIDTH, np.float32)
        data[: self.buffer.size] = self.buffer
        return data, TEXTURE_WIDTH, rows


def glsl_float(value: float) -> str:
    """A float32 as a GLSL literal that reads back to the same float32.

    >>> glsl_float(1.0), glsl_float(-0.1), glsl_float(1e-20)
    ('1.0', '-0.1', '1e-20')
    """
    exact = np.float32(value)
    text = repr(float(exact))
    for digits in range(1, 10):  # the shortest decimal that rounds back to the same float32
        candidate = f"{float(exact):.{digits}g}"
        if np.float32(candidate) == exact:
            text = candidate
            break
    return text if any(c in text for c in ".eEn") else text + ".0"


def _functions(names: Iterable[str]) -> str:
    return "\n".join(f"float act_{name}(float x) {{ {ACTIVATIONS[name]} }}" for name in dict.fromkeys(names))


def _squash(name: str, value: str) -> str:
    spec = OUTPUTS[name]
    for step in spec.chain:
        value = f"act_{step}({value})"
    return f"(0.5 + 0.5 * {value})" if spec.half else value


def _coordinate_lines(weights: CPPNWeights) -> list[str]:
    """GLSL making ``tp`` (x and y as the first layer sees them) and ``r`` from ``p``."""
    if weights.periods is None:
        return ["    vec2 tp = p;", "    float r = sqrt(p.x * p.x + p.y * p.y);"]
    # a seamless tile: graph.periodic.torus_features, with the same float32 constants
    two_pi = np.float32(2 * np.pi)
    fx, fy = (glsl_float(float(two_pi / np.float32(v))) for v in weights.periods)
    rx, ry = (glsl_float(float(np.float32(v) / two_pi)) for v in weights.periods)
    return [
        f"    vec2 th = p * vec2({fx}, {fy});",
        f"    vec2 tp = sin(th) * vec2({rx}, {ry});",
        f"    vec2 tc = (cos(th) - 1.0) * vec2({rx}, {ry});",
        "    float r = sqrt(dot(tp, tp) + dot(tc, tc));",
    ]


def _torus_terms(weights: CPPNWeights, layout: WeightLayout) -> str:
    """The two cosine inputs' terms of a torus front (empty for x, y, r)."""
    if weights.periods is None:
        return ""
    first, at = layout.widths[0], layout.w_coords
    return f" + tc.x * wt({at + 3 * first} + j) + tc.y * wt({at + 4 * first} + j)"


def _body(weights: CPPNWeights, layout: WeightLayout) -> str:
    """GLSL ``plane(frag, size)`` and ``cppn(p)``, reading ``wt(i)``, ``Z[k]``, ``ZOOM`` and ``CENTER``."""
    widest = max(layout.widths)
    z_dim, channels = weights.z_dim, weights.channels
    first = layout.widths[0]
    lines = [
        _functions([*weights.activations, *OUTPUTS[weights.output].chain]),
        "",
        "// Pixel centre -> plane: the shorter side spans [-1, 1] / ZOOM around CENTER, y grows downward.",
        "vec2 plane(vec2 frag, vec2 size) {",
        "    vec2 q = vec2(frag.x, size.y - frag.y);",
        "    return (q - 0.5 * size) / (0.5 * min(size.x, size.y)) / ZOOM + CENTER;",
        "}",
        "",
        "vec3 cppn(vec2 p) {",
        f"    float h[{widest}];",
        f"    float t[{widest}];",
        *_coordinate_lines(weights),
        f"    for (int j = 0; j < {first}; j++) {{",
        f"        float zs = wt({layout.b0} + j);",
        f"        for (int k = 0; k < {z_dim}; k++) zs += Z[k] * wt({layout.w_z} + k * {first} + j);",
        f"        float s = tp.x * wt({layout.w_coords} + j) + tp.y * wt({layout.w_coords + first} + j)"
        f" + r * wt({layout.w_coords + 2 * first} + j){_torus_terms(weights, layout)};",
        f"        t[j] = act_{weights.activations[0]}(s + zs);",
        "    }",
        f"    for (int j = 0; j < {first}; j++) h[j] = t[j];",
    ]
    for i, (act, (w_at, b_at)) in enumerate(zip(weights.activations[1:], layout.hidden)):
        n_in, n_out = layout.widths[i], layout.widths[i + 1]
        update = "h[j] + t[j]" if weights.residual else "t[j]"
        lines += [
            f"    for (int j = 0; j < {n_out}; j++) {{",
            f"        float s = wt({b_at} + j);",
            f"        for (int k = 0; k < {n_in}; k++) s += h[k] * wt({w_at} + k * {n_out} + j);",
            f"        t[j] = act_{act}(s);",
            "    }",
            f"    for (int j = 0; j < {n_out}; j++) h[j] = {update};",
        ]
    last = layout.widths[-1]
    lines += [f"    float o[{channels}];", f"    for (int c = 0; c < {channels}; c++) {{"]
    lines += [
        f"        float s = wt({layout.b_out} + c);",
        f"        for (int k = 0; k < {last}; k++) s += h[k] * wt({layout.w_out} + k * {channels} + c);",
        f"        o[c] = {_squash(weights.output, 's')};",
        "    }",
        "    return vec3(o[0], o[1], o[2]);" if channels == 3 else "    return vec3(o[0]);",
        "}",
    ]
    return "\n".join(lines)


def fragment_shader(weights: CPPNWeights) -> str:
    """WebGL2 fragment shader: weights from the R32F texture ``u_weights`` (see ``WeightLayout.texture``),
    latent ``u_z``, view ``u_zoom`` / ``u_center``; one colour per pixel of the canvas."""
    layout = WeightLayout.of(weights)
    header = f"""#version 300 es
// cppnart CPPN: z {weights.z_dim}, {weights.channels} channel(s), layers {list(layout.widths)}
precision highp float;
precision highp int;
precision highp sampler2D;
uniform sampler2D u_weights;
uniform float u_z[{weights.z_dim}];
uniform float u_zoom;
uniform vec2 u_center;
uniform vec2 u_size;
out vec4 color;
#define Z u_z
#define ZOOM u_zoom
#define CENTER u_center
float wt(int i) {{ return texelFetch(u_weights, ivec2(i % {TEXTURE_WIDTH}, i / {TEXTURE_WIDTH}), 0).r; }}
"""
    main = "void main() { color = vec4(cppn(plane(gl_FragCoord.xy, u_size)), 1.0); }\n"
    return header + _body(weights, layout) + "\n\n" + main


def _array(name: str, values: np.ndarray, per_line: int = 8) -> str:
    items = [glsl_float(float(v)) for v in np.asarray(values, np.float32).reshape(-1)]
    rows = [", ".join(items[i : i + per_line]) for i in range(0, len(items), per_line)]
    inner = ",\n    ".join(rows)
    return f"const float {name}[{len(items)}] = float[{len(items)}](\n    {inner}\n);"


# Weights baked into one `const float[]` of a ShaderToy shader: about 13 characters each. Drivers
# compile constant arrays of a few hundred thousand entries (the `wide` preset's 119k: 1.5 MB, measured);
# past a million the text alone is tens of MB and compilers give up.
MAX_BAKED_WEIGHTS = 1 << 20


def shadertoy_shader(weights: CPPNWeights, z: np.ndarray, view: View = View(), title: str = "") -> str:
    """A self-contained ShaderToy-style "Image" pass: weights, z and view baked in as constants;
    ``mainImage`` draws the picture ``cppnart render`` draws, filling the shorter side of iResolution."""
    layout = WeightLayout.of(weights)
    if layout.buffer.size > MAX_BAKED_WEIGHTS:
        raise UserError(
            f"a shader with {layout.buffer.size:,} weights baked in would be about "
            f"{layout.buffer.size * 13 / 1e6:.0f} MB of GLSL, more than GPU compilers take in a constant array "
            f"(at most {MAX_BAKED_WEIGHTS:,} weights here); export it to ONNX, or open it in `cppnart view`, "
            "which sends the weights as a texture"
        )
    z = np.asarray(z, np.float32).reshape(-1)
    cx, cy = view.center
    header = "\n".join(
        [
            f"// {title or 'cppnart CPPN'}: written by `cppnart export --format glsl`.",
            "// Paste into a ShaderToy Image tab, or prepend `uniform vec3 iResolution;` and call mainImage.",
            "// Change Z to move through the latent space, ZOOM and CENTER to reframe.",
            _array("Z", z),
            f"const float ZOOM = {glsl_float(view.zoom)};",
            f"const vec2 CENTER = vec2({glsl_float(cx)}, {glsl_float(cy)});",
            _array("WEIGHTS", layout.buffer),
            "float wt(int i) { return WEIGHTS[i]; }",
            "",
        ]
    )
    main = (
        "void mainImage(out vec4 fragColor, in vec2 fragCoord) {\n"
        "    fragColor = vec4(cppn(plane(fragCoord, iResolution.xy)), 1.0);\n"
        "}\n"
    )
    return header + _body(weights, layout) + "\n\n" + main
