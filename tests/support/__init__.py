"""What the tests share, in one place. Import it as ``from tests.support.<module> import ...``.

| module          | job                                                                        |
|-----------------|----------------------------------------------------------------------------|
| ``batches``     | the tiny valid batch of input tables; writing tables as CSV/Parquet/.sav   |
| ``builders``    | ``release_cell`` (the one hand-built ``ReleaseCell``), ``decision_for``,   |
|                 | ``small_draft`` (every kind of cell once) and ``seal_draft``               |
| ``heerlen``     | the hand-built Heerlen release the factsheet/map/trend/browser tests render |
| ``api_release`` | the hand-built release, geography and tokens the API tests run against     |
| ``server``      | the API in-process (``in_process_client``) or as a real uvicorn server     |
| ``cli``         | ``kluis(home, *args)``: the command line in a subprocess                   |
| ``digests``     | ``tree_digest``: what a folder holds, to show a refusal changed nothing    |
| ``policies``    | ``default_policy_with``: the shipped policy with one setting changed       |
| ``fixtures``    | the shared pytest fixtures (loaded by ``tests/conftest.py``): batches,     |
|                 | ``sealed_home``, ``signer``, and the session-scoped synthetic homes        |

In-process or real server? ``server.py`` says when to use which. In short: status codes,
bodies, scoping and the authorisation matrix go in-process (the ``client`` fixture of
``tests/api``); headers on the wire, the server process's own log, environment and home,
schemathesis, load and the browser need the real server (``server``, ``server_client``).
"""
