"""The OCPI transport layer shared by every module: tokens, envelope, errors, paging, request logs.

See transport_and_format.asciidoc of OCPI 2.2.1 and 2.3.0; the two versions agree on all of it.
"""
