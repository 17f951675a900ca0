"""A TokenReview webhook for kube-apiserver that validates OpenStack Keystone tokens (issue 13).

It answers what k8s-keystone-auth answers (cloud-provider-openstack), so RBAC written for the
upstream webhook works unchanged, plus one group for Heat stack users: their stack's owner
project. `mapping` is pure (TokenReview and token bodies in, answers out), `cache` keeps
validations for a short time under a hash of the token, `keystone` asks Keystone, `server`
serves HTTPS. Run: `python -m heat_k8s_hook.tokenreview --config FILE`.
"""
