"""Stage 5, delivery: what happens after the letters are built, on the way to the recipient.

The print channel: envelopes (`envelopes`), address labels on label sheets (`labels`, with
the sheets' geometry in `label_sheets` and `sheets/*.toml`), the addresses of a case in print
order (`mailing`), their pages as one PDF rendered in chunks (`render`), the signed record of
what was made (`post_record`) and the report of every letter produced (`report`). Other
channels (e-mail) live here too.
"""
