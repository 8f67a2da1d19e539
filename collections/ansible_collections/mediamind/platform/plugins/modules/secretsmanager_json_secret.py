#!/usr/bin/python
"""Manage a Secrets Manager secret whose value is a flat JSON object, reporting changed key names only."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: secretsmanager_json_secret
short_description: Manage a Secrets Manager secret holding a JSON object, key by key, without showing values
description:
  - Ensures a Secrets Manager secret exists and its current value (C(AWSCURRENT) SecretString) is the JSON
    object O(secret), or that the secret does not exist.
  - Compares the stored object with O(secret) key by key and reports the names of added, modified and
    removed keys. No secret value is ever returned, in the diff, the result or an error message.
  - A new version is written only when a key differs, so re-runs are idempotent.
  - Check mode never reads a value (no C(GetSecretValue)). Every real run keeps a digest of the document
    it wrote in the tag C(mediamind:document-digest), with the version id it wrote (C(<version>:<digest>)),
    and check mode compares that tag (C(DescribeSecret)) with the digest of O(secret). A version written
    by anyone else, or a secret without the tag, counts as a change. Check mode then names the keys that
    would be written, not which of them differ.
  - A secret scheduled for deletion is restored first (Secrets Manager refuses to create a secret
    with the name of one pending deletion).
  - Written because community.aws.secretsmanager_secret compares the whole string (no key-level report)
    and cannot merge keys other roles contribute. Follows amazon.aws' ec2_vpc_igw.
options:
  name:
    description: Name of the secret, e.g. C(mediamind/app-env).
    required: true
    type: str
  secret:
    description:
      - The wanted JSON object of scalar values (string, number, boolean), as a JSON string (preferred)
        or a dict.
      - Pass a JSON string (C({{ doc | to_json }})). A dict works too, but Ansible then masks every single
        value in the result, which garbles returned ARNs or key names that happen to contain one.
      - Required with O(state=present).
      - 'A value may be a reference to another secret''s key, C({"from_secret": <name or ARN>, "key": <KEY>}).
        A real run reads that secret (C("") while it does not exist); check mode digests the source ARN and
        current version id instead of its value.'
    type: json
  digest_key:
    description:
      - Key of the HMAC-SHA256 kept in the digest tag; one the plan's credentials cannot read (a vaulted
        inventory value, never stored in AWS).
      - Omitted, the tag holds a plain SHA-256 of the canonical document, which is only safe when the document holds
        at least one high-entropy value (a password, a token), since a hash of guessable values can be
        brute-forced by anyone allowed to read tags.
    type: str
  purge_keys:
    description:
      - Remove stored keys that are not in O(secret) (drift is repaired).
      - With V(false), O(secret) is merged over the stored keys, so several callers can each own some keys.
    default: true
    type: bool
  description:
    description: Description of the secret. Omitted means leave it alone.
    type: str
  kms_key_id:
    description:
      - KMS key that encrypts the secret; omitted means the account's C(aws/secretsmanager) key on creation.
      - On an existing secret it is compared (and updated) only when given as an ARN, the form AWS returns.
    type: str
  tags:
    description: Tags of the secret.
    type: dict
    aliases: [resource_tags]
  purge_tags:
    description: Remove tags not in O(tags) (keys starting with C(aws:) are kept).
    default: true
    type: bool
  recovery_window_days:
    description:
      - With O(state=absent), days Secrets Manager keeps the deleted secret restorable (7-30).
      - V(0) deletes it at once, without recovery (for emulators and throw-away environments).
    default: 30
    type: int
  state:
    description: Whether the secret exists.
    choices: [present, absent]
    default: present
    type: str
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Ensure the production application environment secret holds the vaulted document
  secretsmanager_json_secret:
    name: mediamind/app-env
    secret: "{{ lookup('ansible.builtin.unvault', '.secrets/mediamind_app-env.json') | from_json | to_json }}"
    tags:
      Project: mediamind
  no_log: true
  register: app_env

- name: Report which keys changed (names only)
  ansible.builtin.debug:
    msg: "changed keys: {{ app_env.changed_keys }}"

- name: Merge one key another role owns, leaving the other keys alone
  secretsmanager_json_secret:
    name: mediamind/app-env
    secret: "{{ {'REDIS_URL': redis_url} | to_json }}"
    purge_keys: false
  no_log: true

- name: Delete a throw-away secret at once
  secretsmanager_json_secret:
    name: molecule/app-env
    state: absent
    recovery_window_days: 0
"""

RETURN = r"""
arn:
  description: ARN of the secret (null when only check mode "created" it, or after absent).
  returned: always
  type: str
  sample: arn:aws:secretsmanager:eu-central-1:123456789012:secret:mediamind/app-env-AbCdEf
name:
  description: Name of the secret.
  returned: always
  type: str
changed_keys:
  description: Names of the keys whose value was (or in check mode would be) added, modified or removed.
  returned: always
  type: list
  elements: str
added_keys:
  description: Names of keys that were not stored before.
  returned: always
  type: list
  elements: str
modified_keys:
  description: Names of stored keys whose value differs.
  returned: always
  type: list
  elements: str
removed_keys:
  description: Names of stored keys dropped because they are not in O(secret) (O(purge_keys=true)).
  returned: always
  type: list
  elements: str
keys:
  description: Names of the keys the secret holds afterwards.
  returned: always
  type: list
  elements: str
values_read:
  description: Whether stored values were read (false in check mode, which compares the digest tag).
  returned: always
  type: bool
version_id:
  description: Version id written by this run (null when no value was written).
  returned: always
  type: str
created:
  description: Whether the secret was created.
  returned: always
  type: bool
restored:
  description: Whether a secret scheduled for deletion was restored.
  returned: always
  type: bool
"""

import contextlib
import json
from typing import Any

# AnsibleAWSModule reports a missing botocore itself.
with contextlib.suppress(ImportError):
    import botocore

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.tagging import compare_aws_tags
from ansible_collections.mediamind.platform.plugins.module_utils.common import dict_to_tags, make_diff
from ansible_collections.mediamind.platform.plugins.module_utils.secrets import (
    DIGEST_TAG,
    SCALAR_TYPES,
    create_secret,
    current_version,
    delete_secret,
    describe_secret,
    digest_matches,
    digest_tag_value,
    document_digest,
    get_secret_string,
    get_secret_value,
    is_reference,
    key_changes,
    merged_document,
    new_version_id,
    parse_document,
    put_secret_string,
    restore_secret,
    secret_tags,
    set_tags,
    update_secret,
)


class SecretValueError(Exception):
    """The wanted document is unusable; the message names keys, never values."""


class JsonSecretManager:
    def __init__(self, module: AnsibleAWSModule) -> None:
        self.module = module
        self.params = module.params
        self.name = module.params["name"]
        self.client = module.client("secretsmanager")
        self.changed = False
        self.values: set[str] = set()

    # ------------------------------------------------------------------ inputs

    def wanted_document(self) -> dict[str, Any]:
        raw = self.params["secret"]
        try:
            document = json.loads(raw) if isinstance(raw, str) else raw
        except ValueError:
            raise SecretValueError("secret is not valid JSON") from None
        if not isinstance(document, dict):
            raise SecretValueError("secret must be a JSON object of key/value pairs")
        # Masked in a failure's output (see fail()); success output never holds a value.
        self.remember_values(document)
        bad = sorted(k for k, v in document.items() if not isinstance(v, SCALAR_TYPES) and not is_reference(v))
        if bad:
            raise SecretValueError(
                "secret values must be strings, numbers, booleans or {from_secret, key} references;"
                f" these keys hold other objects or lists: {bad}"
            )
        return document

    def resolve(self, document: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """(what the digest covers, the values to store). References count in the digest by
        their source's ARN and current version; their values are read in a real run only."""
        digested, values = dict(document), dict(document)
        for key, ref in document.items():
            if not is_reference(ref):
                continue
            source = describe_secret(self.client, ref["from_secret"])
            if source is None or "DeletedDate" in source:
                digested[key] = values[key] = ""
                continue
            digested[key] = f"ref:{source['ARN']}:{current_version(source)}:{ref['key']}"
            if self.module.check_mode:
                values[key] = None
                continue
            answer = get_secret_value(self.client, source["ARN"]) or {}
            value = (parse_document(answer.get("SecretString")) or {}).get(ref["key"], "")
            if not isinstance(value, SCALAR_TYPES):
                raise SecretValueError(f"key {ref['key']} of {ref['from_secret']} is not a scalar")
            values[key] = value
            self.remember_values({key: value})
        return digested, values

    def remember_values(self, document: dict[str, Any] | None) -> None:
        for value in (document or {}).values():
            if isinstance(value, (str, int, float)) and not isinstance(value, bool) and str(value):
                self.values.add(str(value))

    def mask_values(self) -> None:
        """Before failing: have Ansible replace every known value wherever it occurs in the
        error (a botocore message, a traceback). Not done on success, where nothing returned
        holds a value and masking short values (a DB name, a port) would garble ARNs."""
        self.module.no_log_values.update(self.values)

    # ------------------------------------------------------------------ states

    def ensure_present(self) -> dict[str, Any]:
        digested, wanted = self.resolve(self.wanted_document())
        digest = document_digest(digested, self.params["digest_key"])
        description = describe_secret(self.client, self.name)
        if description is None:
            return self._create(wanted, digest)
        arn = description["ARN"]
        restored = "DeletedDate" in description
        if restored:
            self._apply(restore_secret, arn)
        changes, before_keys, after_keys, version, version_id = self._converge_values(
            description, wanted, digest, restored
        )
        update = {}
        if self.params["description"] is not None and description.get("Description", "") != self.params["description"]:
            update["Description"] = self.params["description"]
        kms = self.params["kms_key_id"]
        if kms and kms.startswith("arn:") and description.get("KmsKeyId") != kms:
            update["KmsKeyId"] = kms
        if update:
            self._apply(update_secret, arn, update)
        before_tags = secret_tags(description)
        wanted_tags = {**(self.params["tags"] or {}), DIGEST_TAG: digest_tag_value(version, digest)}
        purge_tags = self.params["purge_tags"] and self.params["tags"] is not None
        to_set, to_remove = compare_aws_tags(before_tags, wanted_tags, purge_tags)
        after_tags = before_tags
        if to_set or to_remove:
            self._apply(set_tags, arn, to_set, to_remove)
            after_tags = {k: v for k, v in {**before_tags, **to_set}.items() if k not in to_remove}
        before = self._summary(before_keys, description.get("Description"), description.get("KmsKeyId"), before_tags)
        after = self._summary(
            after_keys,
            update.get("Description", description.get("Description")),
            update.get("KmsKeyId", description.get("KmsKeyId")),
            after_tags,
        )
        if restored:
            before["scheduled_for_deletion"] = True
        return self._result(
            arn,
            changes,
            after_keys,
            before=before,
            after=after,
            version_id=version_id,
            restored=restored,
            values_read=not self.module.check_mode,
        )

    def _converge_values(
        self, description: dict[str, Any], wanted: dict[str, Any], digest: str, restored: bool
    ) -> tuple[dict[str, list[str]], list[str], list[str], str | None, str | None]:
        """(key changes, keys before, keys after, AWSCURRENT version after, version written)."""
        purge = self.params["purge_keys"]
        if self.module.check_mode:
            # The plan never reads a value: the digest tag tells whether the document changed.
            unchanged = not restored and digest_matches(description, digest)
            changes = key_changes(None, {}, purge)
            if not unchanged:
                changes["modified_keys"] = sorted(wanted)
                self.changed = True
            version = current_version(description) if unchanged else "(new version)"
            return changes, sorted(wanted), sorted(wanted), version, None
        current = parse_document(get_secret_string(self.client, description["ARN"]))
        self.remember_values(current)
        changes = key_changes(current, wanted, purge)
        version, version_id = current_version(description), None
        if any(changes.values()) or current is None:
            self.changed = True
            version = version_id = new_version_id()
            document = merged_document(current, wanted, purge)
            put_secret_string(self.client, description["ARN"], json.dumps(document), version_id)
        return changes, sorted(current or {}), sorted(merged_document(current, wanted, purge)), version, version_id

    def _create(self, wanted: dict[str, Any], digest: str) -> dict[str, Any]:
        self.changed = True
        changes = key_changes(None, wanted, True)
        version = new_version_id()
        tags = {**(self.params["tags"] or {}), DIGEST_TAG: digest_tag_value(version, digest)}
        after = self._summary(sorted(wanted), self.params["description"], self.params["kms_key_id"], tags)
        arn = version_id = None
        if not self.module.check_mode:
            request: dict[str, Any] = {
                "Name": self.name,
                "SecretString": json.dumps(wanted),
                "ClientRequestToken": version,
                "Tags": dict_to_tags(tags),
            }
            if self.params["description"] is not None:
                request["Description"] = self.params["description"]
            if self.params["kms_key_id"]:
                request["KmsKeyId"] = self.params["kms_key_id"]
            response = create_secret(self.client, request)
            arn, version_id = response["ARN"], response.get("VersionId")
        return self._result(
            arn,
            changes,
            sorted(wanted),
            before={},
            after=after,
            version_id=version_id,
            created=True,
            values_read=not self.module.check_mode,
        )

    def ensure_absent(self) -> dict[str, Any]:
        description = describe_secret(self.client, self.name)
        # Already scheduled for deletion counts as gone, unless an immediate delete is asked for.
        pending = description is not None and "DeletedDate" in description
        if description is None or (pending and self.params["recovery_window_days"] != 0):
            return self._result(None, key_changes(None, {}, True), [], before={}, after={})
        self._apply(delete_secret, description["ARN"], self.params["recovery_window_days"])
        before = self._summary(
            [], description.get("Description"), description.get("KmsKeyId"), secret_tags(description)
        )
        return self._result(None, key_changes(None, {}, True), [], before=before, after={})

    # ------------------------------------------------------------------ helpers

    def _apply(self, call, *args) -> None:
        self.changed = True
        if not self.module.check_mode:
            call(self.client, *args)

    @staticmethod
    def _summary(keys: list[str], description: str | None, kms: str | None, tags: dict[str, str]) -> dict[str, Any]:
        # Key names only: the diff Ansible prints must never carry a value.
        return {"keys": keys, "description": description, "kms_key_id": kms, "tags": tags}

    def _result(
        self,
        arn: str | None,
        changes: dict[str, list[str]],
        keys: list[str],
        *,
        before: dict[str, Any],
        after: dict[str, Any],
        version_id: str | None = None,
        created: bool = False,
        restored: bool = False,
        values_read: bool = False,
    ) -> dict[str, Any]:
        changed_keys = sorted({k for names in changes.values() for k in names})
        return {
            "changed": self.changed,
            "arn": arn,
            "name": self.name,
            "changed_keys": changed_keys,
            "keys": keys,
            "version_id": version_id,
            "created": created,
            "restored": restored,
            "values_read": values_read,
            "diff": make_diff(before, after),
            **changes,
        }


def main() -> None:
    argument_spec = dict(
        name=dict(type="str", required=True),
        secret=dict(type="json", no_log=True),
        digest_key=dict(type="str", no_log=True),
        purge_keys=dict(type="bool", default=True),
        description=dict(type="str"),
        kms_key_id=dict(type="str"),
        tags=dict(type="dict", aliases=["resource_tags"]),
        purge_tags=dict(type="bool", default=True),
        recovery_window_days=dict(type="int", default=30),
        state=dict(type="str", default="present", choices=["present", "absent"]),
    )
    module = AnsibleAWSModule(
        argument_spec=argument_spec,
        supports_check_mode=True,
        required_if=[("state", "present", ["secret"])],
    )
    window = module.params["recovery_window_days"]
    if window != 0 and not 7 <= window <= 30:
        module.fail_json(msg="recovery_window_days must be 0 (immediate) or between 7 and 30")
    manager = JsonSecretManager(module)
    try:
        result = manager.ensure_present() if module.params["state"] == "present" else manager.ensure_absent()
    except SecretValueError as e:
        manager.mask_values()
        module.fail_json(msg=f"Secret {module.params['name']}: {e}")
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        manager.mask_values()
        module.fail_json_aws(e, msg=f"Failed to manage the secret {module.params['name']}")
    except Exception as e:  # noqa: BLE001 - any other failure must go through the value-masking fail_json
        manager.mask_values()
        module.fail_json(msg=f"Failed to manage the secret {module.params['name']}: {type(e).__name__}: {e}")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
