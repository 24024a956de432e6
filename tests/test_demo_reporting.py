"""The demo's OPCO login reaches « Pilotage » with charts over the demo data: every chart has bars, the
realisation rate is below 100 % (an absence and a late arrival in the demo), amounts realised and paid."""

import json
import re

from marketplace.services.demo import DEMO_PASSWORD
from tests.web.pages import visible_text


def test_the_demo_opco_sees_non_empty_charts(cli, client, login, db_session):
    result = cli("seed-demo")
    assert result.exit_code == 0, result.output
    from marketplace.models import User

    login(client, db_session.query(User).filter_by(email="opco@demo.test").one(), DEMO_PASSWORD)
    response = client.get("/opco/akto/pilotage")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    for dimension in ("month", "region", "band", "provider"):
        chart = json.loads(re.search(rf'id="donnees-{dimension}">(.*?)</script>', body, re.S).group(1))
        assert len(chart["labels"]) >= 2, dimension
        assert sum(sum(d["data"]) for d in chart["datasets"]) > 0, dimension
    text = " ".join(visible_text(response).replace("\u00a0", " ").split())
    rate = re.search(r"([\d,]+) % de réalisation", text).group(1)
    assert 0 < float(rate.replace(",", ".")) < 100
    assert "0,00 € payés" not in text
