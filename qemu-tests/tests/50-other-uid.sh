# Keys belong to the uid that made them: another client (carol, also in
# parsec-clients) cannot see, use or delete alice's key; bob, who is not in
# parsec-clients, cannot reach the socket at all.
. /qt/lib.sh
k=qt-alice-$$
tool alice create-ecc-key -k "$k" || fail "alice cannot create a key"
tool carol list-keys | grep -q "$k" && fail "carol sees alice's key"
tool carol sign -k "$k" "x" && fail "carol signed with alice's key"
tool carol export-public-key -k "$k" && fail "carol exported alice's key"
tool carol delete-key -k "$k" && fail "carol deleted alice's key"
tool alice list-keys | grep -q "$k" || fail "alice's key vanished"
out=$(as bob qt-helper ping 2>&1) && fail "bob (not in parsec-clients) reached the socket"
echo "bob: $out"
echo "$out" | grep -qi 'permission denied' || fail "bob failed for another reason: $out"
out=$(tool bob list-keys 2>&1) && fail "parsec-tool as bob succeeded"
# parsec-tool says why and which group grants access (issue 15, item 8).
echo "$out" | grep -q 'permission denied' || fail "parsec-tool as bob does not say permission denied: $out"
echo "$out" | grep -q 'group parsec-clients' || fail "parsec-tool as bob does not name parsec-clients: $out"
tool alice delete-key -k "$k" || fail "alice cannot delete her key"
