# Sourced on the host and inside the chroot; the files exist only inside the
# chroot (/tmp/in_target.d is the bind-mounted hooks directory), so the host
# side is left alone.
if [ -f /tmp/in_target.d/ci-build-host/ca.pem ]; then
    export PIP_CERT=/tmp/in_target.d/ci-build-host/ca.pem
    export REQUESTS_CA_BUNDLE=$PIP_CERT
    export SSL_CERT_FILE=$PIP_CERT
    # The host's wheel directory does not exist in the chroot.
    unset PIP_FIND_LINKS
    # pip's cache, bind-mounted from the build host by the pip-cache element.
    export PIP_CACHE_DIR=/tmp/pip
    source /tmp/in_target.d/ci-build-host/pip.env
fi
# heat-agents' heat-config element pip-installs its clients into the system
# Python; Debian >= 12 marks that Python externally managed (PEP 668).
export PIP_BREAK_SYSTEM_PACKAGES=1
