"""The officer app's screens (Flet 1.0, imperative): they render ``mobile.state`` and call its methods,
nothing else (no store, HTTP or image library here; ``tests/test_layering.py``).

``shell.Shell`` holds the page and swaps screens; ``screens.make_screen`` (handed to the shell by
``mobile.app``) maps a route to a screen class: ``signin`` (sign_in.py), ``today`` (today.py), ``new_case``
(the new_case package, one module per wizard step), ``case`` + case id
(case_detail.py), ``subjects``, ``sync``, ``settings``; for squad leaders also ``squad`` (squad.py) and
``review`` (review.py). Launch: ``python -m mobile.app --web --port P
--data-dir D --hq URL`` (prints ``APP READY http://127.0.0.1:P`` once serving).

Screens import only ``common`` (shared widgets, ``Host``, dates, chips), never each other or the shell
(``tests/test_layering.py``). The labels browser tests find the screens by are listed in
``tests/e2e/labels.py``.
"""
