"""``--auth=delegated``: one request's identity, from its credentials and
its Impersonate-* headers, by upstream's word.

Glossary:
    Delegation  the authenticator and the authorizer of one proxy, and the
                one call the request context makes (``identify``)

Invariant: ``identify`` either returns the identity every later stage acts
as (the read path's authorization, the forwarder's credentials), or raises
the ApiError the request is answered with (401 for bad credentials, 403
for an impersonation not allowed, 400 for a malformed one), before any
other stage sees the request.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from multidict import MultiMapping

from watchcache.api.status import unauthorized
from watchcache.auth.authenticator import Authenticator, Credentials, Unauthenticated, bearer_token
from watchcache.auth.authorizer import Authorizer
from watchcache.auth.identity import Identity
from watchcache.auth.impersonation import impersonate

__all__ = ["Delegation"]

log = logging.getLogger(__name__)


@dataclass
class Delegation:
    authenticator: Authenticator
    authorizer: Authorizer

    async def identify(self, headers: MultiMapping[str], certificate: bytes | None) -> Identity:
        """``certificate``: the client's, as presented in the handshake (DER)."""
        credentials = Credentials(bearer_token(headers.get("Authorization", "")), certificate)
        try:
            requester = await self.authenticator.authenticate(credentials)
        except Unauthenticated as err:
            # kube-apiserver's 401 says no more than "Unauthorized"; the
            # reason goes to the log.
            log.info("401: %s", err)
            raise unauthorized() from err
        return await impersonate(requester, headers, self.authorizer)
