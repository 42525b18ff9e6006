"""The OpenAI chat-completions protocol, still sans-IO.

SSE decoding (:mod:`.sse`), the wire types (:mod:`.payloads`), folding a
response's chunks into events (:mod:`.folding`) and accumulating the tool
calls a server parsed itself (:mod:`.server_calls`).
"""
