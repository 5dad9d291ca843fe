"""The HTTP API against the contract: auth, error shape, status codes, paging, OpenAPI."""
import io

from tests.conftest import FIXTURES


def deploy(api):
    data = {"file": (io.BytesIO((FIXTURES / "camunda_reminder.bpmn").read_bytes()), "reminder.bpmn")}
    response = api.client.post("/api/v1/processes", data=data, content_type="multipart/form-data",
                               headers={"Authorization": f"Bearer {api.token}"})
    return response.status_code, response.get_json()


def test_openapi_lists_every_contract_path(api):
    status, doc = api.call("GET", "/openapi.json")
    assert status == 200
    for path in ("/auth/token", "/processes", "/processes/{process_id}", "/cases", "/cases/{case_id}",
                 "/cases/{case_id}/events", "/tasks", "/tasks/{task_id}", "/tasks/{task_id}/claim",
                 "/tasks/{task_id}/complete", "/tasks/{task_id}/escalate", "/messages"):
        assert path in doc["paths"], path


def test_auth_errors_have_the_contract_shape(api):
    api.token = None
    status, body = api.call("GET", "/cases")
    assert status == 401 and body["error"]["code"] == "unauthorized"
    status, body = api.call("POST", "/auth/token", {"username": "root", "password": "wrong"})
    assert status == 401 and "message" in body["error"]
    status, body = api.call("POST", "/auth/token", {"username": "root"})
    assert status == 422 and "password" in body["error"]["fields"]
    api.token = "not-a-token"
    assert api.call("GET", "/cases")[0] == 401


def test_malformed_json_is_400_and_unknown_route_is_json_404(api):
    response = api.client.post("/api/v1/cases", data=b"{not json", content_type="application/json",
                               headers={"Authorization": f"Bearer {api.token}"})
    assert response.status_code == 400 and response.get_json()["error"]["code"]
    status, body = api.call("GET", "/no-such-thing")
    assert status == 404 and body["error"]["code"] == "not_found"


def test_deploy_start_list_and_page(api):
    status, body = deploy(api)
    assert status == 201 and body["items"][0]["process_id"] == "await_reply"
    status, process = api.call("GET", "/processes/await_reply")
    assert status == 200 and process["version"] == 1 and process["start_form"] is None
    for i in range(3):
        assert api.call("POST", "/cases", {"process_id": "await_reply", "data": {"n": i}})[0] == 201
    status, page = api.call("GET", "/cases?per_page=2&page=2")
    assert status == 200 and page["total"] == 3 and len(page["items"]) == 1
    status, body = api.call("GET", "/cases?per_page=0")
    assert status == 422 and "per_page" in body["error"]["fields"]
    status, body = api.call("POST", "/cases", {"process_id": "nope"})
    assert status == 404
    status, body = api.call("POST", "/cases", {"process_id": "await_reply", "data": [1, 2]})
    assert status == 422


def test_only_admins_deploy_and_scope_hides_other_cases(api, app):
    from web.demo import DEMO_ORGS, ensure_org
    eng = app.extensions["linkage"]
    with eng.db.unit_of_work() as s:
        for code, name, kind, parent in DEMO_ORGS:
            ensure_org(s, code, name, kind, parent)
    deploy(api)
    _, mine = api.call("POST", "/cases", {"process_id": "await_reply", "compound": "C0001"})
    _, other = api.call("POST", "/cases", {"process_id": "await_reply", "compound": "C0003"})
    api.add_user("zhang", "clerk", "140502001001")
    api.login("zhang")
    assert deploy(api)[0] == 403
    assert api.call("GET", f"/cases/{mine['id']}")[0] == 200
    assert api.call("GET", f"/cases/{other['id']}")[0] == 404
    status, page = api.call("GET", "/cases")
    assert [c["id"] for c in page["items"]] == [mine["id"]]
    status, body = api.call("POST", "/cases", {"process_id": "await_reply", "compound": "C0003"})
    assert status == 403


def test_task_view_complete_twice_and_escalate(api, app, clock):
    from datetime import datetime
    deploy(api)
    _, case = api.call("POST", "/cases", {"process_id": "await_reply"})
    # Overdue (due 12 March 09:00), not yet by the 3 working days after which it escalates itself.
    clock.set(datetime.fromisoformat("2026-03-13T00:00:00+00:00"))
    app.test_cli_runner().invoke(args=["tick"])
    status, tasks = api.call("GET", f"/tasks?case_id={case['id']}")
    [task] = tasks["items"]
    status, detail = api.call("GET", f"/tasks/{task['id']}")
    assert detail["form"] == {"type": "object"} and detail["candidate_groups"] == ["clerk", "street"]
    status, overdue = api.call("GET", "/tasks?overdue=true")
    assert [t["id"] for t in overdue["items"]] == [task["id"]]
    status, body = api.call("POST", f"/tasks/{task['id']}/escalate", {"reason": "逾期未处理"})
    assert status == 200
    status, detail = api.call("GET", f"/tasks/{task['id']}")
    assert "bureau" in detail["candidate_groups"]
    status, body = api.call("POST", f"/tasks/{task['id']}/complete", {"data": {"ok": True}})
    assert status == 200 and body["status"] == "completed"
    # The answer is read inside the completion's transaction: exactly what a reader sees after.
    assert api.call("GET", f"/cases/{case['id']}") == (200, body)
    status, body = api.call("POST", f"/tasks/{task['id']}/complete", {"data": {}})
    assert status == 409 and body["error"]["code"] == "conflict"
    _, events = api.call("GET", f"/cases/{case['id']}/events")
    assert "escalated" in [e["kind"] for e in events["items"]]
