"""Stage 4, producing files: options, the plan of letters in print order, the output folder
(never through a link), inputs and the signed manifest, PDF worker processes, failures,
shards, print files and merge-print.

Entry points: `build.build`, `print_files.merge_print`.
"""
