// label_append into an fp8 label cache with its f16 scales (both updated in place).
func.func @label_append_fp8(%new_k: tensor<?x8x128xbf16> {ds.name = "new_k"},
                            %channels: tensor<8x16xi32> {ds.name = "channels"},
                            %slot_mapping: tensor<?xi32> {ds.name = "slot_mapping"},
                            %label_cache: tensor<8x?x16xf8E4M3FN> {ds.name = "label_cache"},
                            %label_scales: tensor<8x?xf16> {ds.name = "label_scales"})
    -> (tensor<8x?x16xf8E4M3FN>, tensor<8x?xf16>) {
  %0, %1 = ds.label_append %label_cache scales(%label_scales), %new_k, %channels, %slot_mapping
      : (tensor<8x?x16xf8E4M3FN>, tensor<8x?xf16>, tensor<?x8x128xbf16>, tensor<8x16xi32>, tensor<?xi32>)
      -> (tensor<8x?x16xf8E4M3FN>, tensor<8x?xf16>)
  return %0, %1 : tensor<8x?x16xf8E4M3FN>, tensor<8x?xf16>
}
