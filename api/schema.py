"""The OpenAPI schema: drf-spectacular's, with every operation's error answers
(problem details) described, so a client, and schemathesis, knows each one."""

from drf_spectacular import openapi

from .problems import PROBLEM_JSON, ProblemSerializer

# Status: when any operation may answer it.
ERRORS = {
    "400": "Invalid input: the errors name each field or query parameter.",
    "401": "No credentials, or a token that is unknown, expired or revoked.",
    "403": "You may not do this (or the token is read-only).",
    "404": "Nothing you may see is there.",
    "429": "Too many requests for this token; Retry-After says when to try again.",
}
BODY_ERRORS = {"415": "The body is not JSON (or, where files are taken, multipart/form-data)."}
ACTION_ERRORS = {
    "409": "The workflow refuses the action now: the case is not in a state it applies "
    "to, lacks evidence or corroboration, or a reason is missing; detail says which."
}


class AutoSchema(openapi.AutoSchema):
    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        errors = dict(ERRORS)
        if self.method in ("POST", "PUT", "PATCH"):
            errors.update(BODY_ERRORS)
        if self.view.__class__.__name__ == "CaseAction":
            errors.update(ACTION_ERRORS)
        for code, description in errors.items():
            if code not in responses:
                response = self._get_response_for_code(ProblemSerializer, code, [PROBLEM_JSON])
                responses[code] = {**response, "description": description}
        return dict(sorted(responses.items()))
