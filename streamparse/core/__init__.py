"""The sans-IO parsing core: model text in, events out.

The machine (:mod:`.parser`), the formats it reads (:mod:`.formats`, one Lark
grammar each), the readers of what lies between a format's literals, and the
events and message they produce.  Nothing here imports an I/O library.
"""
