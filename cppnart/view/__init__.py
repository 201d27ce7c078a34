"""The interactive viewer: a local ASGI server (starlette + uvicorn, the ``view`` extra) and a static page.

Coordinate CPPNs are drawn in the browser by the WebGL2 shader ``graph.glsl`` writes from their
weights; other generators, and browsers without WebGL2, get frames rendered here by onnxruntime.
Posters go through the same chunked renderer as `cppnart render`, one at a time.
"""
