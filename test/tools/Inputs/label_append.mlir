// A small pipeline for the tool tests (argument order: new_k, channels, slot_mapping,
// label_cache; label_cache is updated in place, so it is an inout argument).
func.func @label_append(%new_k: tensor<?x8x128xbf16> {ds.name = "new_k"},
                        %channels: tensor<8x16xi32> {ds.name = "channels"},
                        %slot_mapping: tensor<?xi32> {ds.name = "slot_mapping"},
                        %label_cache: tensor<8x?x16xbf16> {ds.name = "label_cache"})
    -> tensor<8x?x16xbf16> {
  %0 = ds.label_append %label_cache, %new_k, %channels, %slot_mapping
      : (tensor<8x?x16xbf16>, tensor<?x8x128xbf16>, tensor<8x16xi32>, tensor<?xi32>) -> tensor<8x?x16xbf16>
  return %0 : tensor<8x?x16xbf16>
}
