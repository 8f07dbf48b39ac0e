#!/usr/bin/env python3
"""Writes a valid Nets OCR giro file with N payment transactions (type 10), for benchmarks.

Usage: scripts/gen-ocr-giro.py N PATH [PER_ASSIGNMENT]
Each transaction is two 80-character records; assignments hold PER_ASSIGNMENT transactions
(default 100 000) with correct assignment and transmission end records.
"""
import sys

n = int(sys.argv[1])
path = sys.argv[2]
per = int(sys.argv[3]) if len(sys.argv) > 3 else 100_000
date = "150126"

with open(path, "w") as f:
    records = 0

    def out(line):
        global records
        assert len(line) == 80, (len(line), line)
        f.write(line + "\n")
        records += 1

    out("NY000010" + f"{8080:08}{1:07}{8080:08}" + "0" * 49)
    done, assignment, file_sum = 0, 0, 0
    while done < n:
        assignment += 1
        out(f"NY090020001008566{assignment:07}99991042764" + "0" * 45)
        in_assignment, assignment_records, assignment_sum = 0, 1, 0
        while in_assignment < per and done < n:
            amount = 100 + done % 1000 * 1234
            in_assignment += 1
            kid = str(1_000_000_000 + done)
            out(f"NY091030{in_assignment:07}{date}13201014640{amount:017}{kid:>25}000000")
            done += 1
            out(f"NY091031{in_assignment:07}0000000000{done:09}0000000{date}99991005524" + "0" * 22)
            assignment_records += 2
            assignment_sum += amount
            file_sum += amount
        out(f"NY090088{in_assignment:08}{assignment_records + 1:08}{assignment_sum:017}{date}{date}{date}" + "0" * 21)
    out(f"NY000089{done:08}{records + 1:08}{file_sum:017}{date}" + "0" * 33)
