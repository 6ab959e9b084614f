"""The squad's daily patrol log (中队巡查日志): assembled from records (``daylog``), the review rule
(``reviewing``), rendered as CSV (``csvlog``) and PDF (``pdf``). Imports ``enforcement`` only (and fpdf2
for the PDF); returns bytes / text and never reads or writes anything but the font it is given."""
