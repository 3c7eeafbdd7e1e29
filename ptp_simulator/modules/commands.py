"""Commands module, our Sender interface: where the CPO posts CommandResults (mod_commands.asciidoc)."""

from __future__ import annotations

from ptp_simulator.answers import Answer, Request, Sim, invalid, method_not_allowed, not_found, ocpi_answer


def handle(sim: Sim, request: Request) -> Answer:
    if request.method != "POST" or len(request.rest) != 2:
        return method_not_allowed("POST a CommandResult to the response_url of the command")
    body = request.body
    if not isinstance(body, dict) or "result" not in body:
        return invalid("CommandResult needs result")
    if not sim.state.record_command_result(request.rest[1], body):
        return not_found("Unknown command id")
    return ocpi_answer(200)
